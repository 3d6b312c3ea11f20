package intercompoller

import (
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/engine"
)

func TestPaginationAcrossManyPages(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		h := newHarness(t, intercomsim.Options{Seed: 1}, setMode(mode))
		h.sim.Populate(intercomsim.Conversations, 1000, epoch.Add(-30*24*time.Hour), epoch.Add(-time.Hour))
		h.start()
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
		if got := h.sim.Requests(); got != 20 {
			t.Errorf("initial sync of 1000 records at 50 per page took %d requests, want 20", got)
		}

		// Nothing changed: one request, nothing emitted.
		h.clock.Advance(time.Minute)
		h.poll()
		if got := h.sim.Requests(); got != 21 {
			t.Errorf("idle poll: %d requests in total, want 21", got)
		}
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))

		// 120 changes: requests scale with them, every change once.
		var changed []intercomsim.Version
		for i, v := range h.sim.Snapshot(intercomsim.Conversations)[:80] {
			h.clock.Advance(time.Duration(i%3) * time.Second)
			nv, err := h.sim.Update(intercomsim.Conversations, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			changed = append(changed, nv)
		}
		for range 40 {
			changed = append(changed, h.sim.Create(intercomsim.Conversations))
		}
		h.clock.Advance(time.Minute)
		before := h.sim.Requests()
		h.poll()
		if got, max := h.sim.Requests()-before, 4; got > max {
			t.Errorf("incremental poll of 120 changes took %d requests, want at most %d", got, max)
		}
		want := append(h.sinkVersionsBefore(), changed...)
		h.expectExactly(want)
	})
}

// sinkVersionsBefore is what was delivered so far, as versions.
func (h *harness) sinkVersionsBefore() []intercomsim.Version {
	var out []intercomsim.Version
	for _, d := range h.sink.snapshot() {
		out = append(out, intercomsim.Version{ID: d.ObjectID, UpdatedAt: d.Updated})
	}
	return out
}

func TestSharedUpdatedAtAcrossPageBoundary(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		h := newHarness(t, intercomsim.Options{Seed: 2}, setMode(mode))
		at := epoch.Add(-time.Hour).Unix()
		h.sim.Populate(intercomsim.Conversations, 20, epoch.Add(-48*time.Hour), epoch.Add(-2*time.Hour))
		for range 300 {
			h.sim.CreateAt(intercomsim.Conversations, at, at)
		}
		h.start()
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))

		// The cursor now sits on the shared second with 300 ids; more
		// records at that very second are still picked up, the 300 are not
		// emitted again.
		late := h.sim.CreateAt(intercomsim.Conversations, at, at)
		h.clock.Advance(time.Minute)
		h.poll()
		h.poll()
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
		if late.UpdatedAt != at {
			t.Fatal("setup: late record not at the shared second")
		}
	})
}

func TestRecordsUpdatedWhilePollingArePickedUpNextPoll(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		h := newHarness(t, intercomsim.Options{Seed: 3}, setMode(mode))
		initial := h.sim.Populate(intercomsim.Conversations, 500, epoch.Add(-10*24*time.Hour), epoch.Add(-time.Hour))
		// initial is oldest first; list mode reads newest first, search
		// oldest first. "Early" records are read before page 3, "late"
		// ones after.
		early, late := initial[len(initial)-5:], initial[:5]
		if mode == "search" {
			early, late = initial[:5], initial[len(initial)-5:]
		}
		var updated []intercomsim.Version
		h.sim.OnRequest(func(r intercomsim.Request) {
			if r.Page != 3 || len(updated) > 0 {
				return
			}
			for _, v := range append(append([]intercomsim.Version{}, early...), late...) {
				nv, err := h.sim.Update(intercomsim.Conversations, v.ID)
				if err != nil {
					t.Error(err)
				}
				updated = append(updated, nv)
			}
		})
		h.start()
		h.sim.OnRequest(nil)
		if len(updated) != 10 {
			t.Fatalf("hook updated %d records, want 10", len(updated))
		}
		h.clock.Advance(time.Minute)
		h.poll()

		// Every record's final version, plus the old versions of the early
		// records, read before they changed. The late records' old versions
		// were replaced before the walk reached them.
		want := h.sim.Snapshot(intercomsim.Conversations)
		want = append(want, early...)
		h.expectExactly(want)
	})
}

func TestCreatedVersusUpdated(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 4}, func(o *Options) {
		o.CreatedCheckTolerance = 5_000_000_000 // 5s
	})
	base := epoch.Add(-time.Hour).Unix()
	fresh := h.sim.CreateAt(intercomsim.Conversations, base, base)
	nearly := h.sim.CreateAt(intercomsim.Conversations, base, base+5)
	changed := h.sim.CreateAt(intercomsim.Conversations, base, base+6)
	h.start()
	h.expectExactly([]intercomsim.Version{fresh, nearly, changed})
	want := map[string]string{fresh.ID: "CREATED", nearly.ID: "CREATED", changed.ID: "UPDATED"}
	for _, d := range h.sink.snapshot() {
		if got := d.Meta[engine.MetaType]; got != want[d.ObjectID] {
			t.Errorf("record %s: eventType %v, want %s", d.ObjectID, got, want[d.ObjectID])
		}
		if d.Meta[engine.MetaID] != d.EventID || len(d.EventID) != 32 {
			t.Errorf("record %s: $meta.id %v, eventId %q", d.ObjectID, d.Meta[engine.MetaID], d.EventID)
		}
		if want := eventID(testPipeline, "conversations", d.ObjectID, time.Unix(d.Updated, 0)); d.EventID != want {
			t.Errorf("record %s: eventId %s, want %s", d.ObjectID, d.EventID, want)
		}
		if got, want := d.Meta[engine.MetaDate], time.Unix(d.Updated, 0).UTC().Format(time.RFC3339); got != want {
			t.Errorf("record %s: eventDate %v, want %s", d.ObjectID, got, want)
		}
		if d.Meta[engine.MetaResource] != "conversations" || d.Meta[engine.MetaObjectID] != d.ObjectID {
			t.Errorf("record %s: meta %v", d.ObjectID, d.Meta)
		}
		if _, ok := d.Record["waiting_since"]; ok {
			t.Errorf("record %s: null field waiting_since not dropped", d.ObjectID)
		}
	}

	// Updating the fresh record makes it UPDATED with a new eventId.
	h.clock.Advance(time.Minute)
	v, _ := h.sim.Update(intercomsim.Conversations, fresh.ID)
	h.poll()
	h.expectExactly([]intercomsim.Version{fresh, nearly, changed, v})
	for _, d := range h.sink.snapshot() {
		if d.ObjectID == fresh.ID && d.Updated == v.UpdatedAt && d.Meta[engine.MetaType] != "UPDATED" {
			t.Errorf("updated record: eventType %v", d.Meta[engine.MetaType])
		}
	}
}

func TestFilterNullsOff(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 5}, func(o *Options) { o.FilterNulls = false })
	v := h.sim.CreateAt(intercomsim.Conversations, epoch.Unix()-10, epoch.Unix()-10)
	h.start()
	h.expectExactly([]intercomsim.Version{v})
	rec := h.sink.snapshot()[0].Record
	if x, ok := rec["waiting_since"]; !ok || x != nil {
		t.Errorf("filter_nulls false: waiting_since = %v, %v; want a null member", x, ok)
	}
}

// TestScrollModeCompanies polls companies the only exact way Intercom
// offers, a scroll over all of them: every change once, across several
// scroll pages, and a walk per poll whatever changed.
func TestScrollModeCompanies(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 7}, func(o *Options) { o.Resource = "companies" })
	h.sim.Populate(intercomsim.Companies, 120, epoch.Add(-48*time.Hour), epoch.Add(-time.Hour))
	h.start()
	h.expectExactly(h.sim.Snapshot(intercomsim.Companies))
	if got := h.sim.Requests(); got != 4 {
		t.Errorf("initial scroll of 120 companies at 50 per page took %d requests, want 4 (3 pages and the empty end)", got)
	}
	var changed []intercomsim.Version
	for _, v := range h.sim.Snapshot(intercomsim.Companies)[:5] {
		h.clock.Advance(time.Second)
		nv, err := h.sim.Update(intercomsim.Companies, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		changed = append(changed, nv)
	}
	changed = append(changed, h.sim.Create(intercomsim.Companies))
	want := append(h.sinkVersionsBefore(), changed...)
	h.clock.Advance(time.Minute)
	h.poll()
	h.expectExactly(want)
}
