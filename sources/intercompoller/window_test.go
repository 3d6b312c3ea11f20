package intercompoller

import (
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/engine/config"
)

func TestStart(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		for _, tc := range []struct {
			start string
			from  time.Time // history at or after this is emitted
		}{
			{"all", time.Time{}},
			{"now", epoch},
			{"2024-06-20T00:00:00Z", time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)},
		} {
			t.Run(tc.start, func(t *testing.T) {
				h := newHarness(t, intercomsim.Options{Seed: 15}, func(o *Options) {
					setMode(mode)(o)
					o.Start = tc.start
				})
				h.sim.Populate(intercomsim.Conversations, 200, epoch.Add(-14*24*time.Hour), epoch.Add(-time.Second))
				h.start()
				h.expectExactly(versions(h.sim.Snapshot(intercomsim.Conversations), func(v intercomsim.Version) bool {
					return !time.Unix(v.UpdatedAt, 0).Before(tc.from)
				}))
				// Changes after the start are emitted whatever the start.
				history := h.sinkVersionsBefore()
				h.clock.Advance(time.Minute)
				c1 := h.sim.Create(intercomsim.Conversations)
				u1, _ := h.sim.Update(intercomsim.Conversations, h.sim.Snapshot(intercomsim.Conversations)[0].ID)
				h.clock.Advance(time.Minute)
				h.poll()
				h.expectExactly(append(history, c1, u1))
			})
		}
	})
}

func TestStartNowSurvivesARestart(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 16}, func(o *Options) { o.Start = "now" })
	h.start()
	h.stop()
	// Changed while the pipeline was down: still after its start.
	h.clock.Advance(time.Hour)
	v := h.sim.Create(intercomsim.Conversations)
	h.clock.Advance(time.Hour)
	h.start()
	h.expectExactly([]intercomsim.Version{v})
}

func TestFilterByCreatedDate(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 17}, func(o *Options) {
		o.FilterByUpdatedDate = false
		o.Start = "now"
	})
	old := h.sim.CreateAt(intercomsim.Conversations, epoch.Unix()-3600, epoch.Unix()-3600)
	h.start()
	h.clock.Advance(time.Minute)
	// An old record updated now is not new; a record created now is.
	if _, err := h.sim.Update(intercomsim.Conversations, old.ID); err != nil {
		t.Fatal(err)
	}
	created := h.sim.Create(intercomsim.Conversations)
	h.clock.Advance(time.Minute)
	h.poll()
	h.expectExactly([]intercomsim.Version{created})
}

// TestContactSearchByDay runs the contacts default (search, day
// granularity) against a workspace whose search compares by calendar day in
// its own timezone, and shows that second granularity would lose records.
func TestContactSearchByDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		granularity string
		loses       bool
	}{{"day", false}, {"second", true}} {
		t.Run(tc.granularity, func(t *testing.T) {
			h := newHarness(t, intercomsim.Options{Seed: 18, ContactSearchByDay: true, Location: ny}, func(o *Options) {
				o.Resource = "contacts"
				o.URL, o.Mode = "", ""
				o.SearchGranularity = tc.granularity
			})
			h.sim.Populate(intercomsim.Contacts, 100, epoch.Add(-5*24*time.Hour), epoch.Add(-time.Minute))
			h.start()
			history := h.sim.Snapshot(intercomsim.Contacts)
			h.expectExactly(history)

			// Same-day changes after the cursor.
			var changes []intercomsim.Version
			for i := range 10 {
				h.clock.Advance(time.Minute)
				if i%2 == 0 {
					changes = append(changes, h.sim.Create(intercomsim.Contacts))
				} else {
					v, _ := h.sim.Update(intercomsim.Contacts, history[i].ID)
					changes = append(changes, v)
				}
			}
			h.clock.Advance(time.Minute)
			h.poll()
			if tc.loses {
				if got := len(h.sink.snapshot()); got != len(history) {
					t.Fatalf("second granularity on a by-day search emitted %d new events; expected it to miss all 10 same-day changes", got-len(history))
				}
				return
			}
			h.expectExactly(append(history, changes...))
		})
	}
}

// TestPollDelayRereadsLateRecordsWithoutDuplicates: a record whose
// updated_at is behind records already polled (Intercom's search index
// lags) is found by the pollDelay re-read, and the re-read emits nothing
// twice. Without pollDelay it is lost, which is what the option is for.
func TestPollDelayRereadsLateRecordsWithoutDuplicates(t *testing.T) {
	for _, tc := range []struct {
		delay time.Duration
		lost  bool
	}{{2 * time.Minute, false}, {0, true}} {
		t.Run(tc.delay.String(), func(t *testing.T) {
			h := newHarness(t, intercomsim.Options{Seed: 19, SearchDelay: time.Minute}, func(o *Options) {
				setMode("search")(o)
				d := config.Duration(tc.delay)
				o.PollDelay = &d
				o.Start = "now"
			})
			h.start() // cursor at epoch
			t0 := epoch.Unix()
			a := h.sim.CreateAt(intercomsim.Conversations, t0+10, t0+10)
			b := h.sim.CreateAt(intercomsim.Conversations, t0+20, t0+20)
			d := h.sim.CreateAt(intercomsim.Conversations, t0+40, t0+40)
			h.clock.Advance(50 * time.Second)
			// b changes again, dated t0+30, but reaches the index late.
			b2, _ := h.sim.UpdateAt(intercomsim.Conversations, b.ID, t0+30)
			h.clock.Advance(20 * time.Second) // a and d visible, b2 not yet
			h.poll()
			h.expectExactly([]intercomsim.Version{a, d})
			h.clock.Advance(2 * time.Minute) // b2 visible now
			h.poll()
			h.poll()
			if tc.lost {
				h.expectExactly([]intercomsim.Version{a, d})
				return
			}
			h.expectExactly([]intercomsim.Version{a, d, b2})
		})
	}
}

// TestSearchCursorCappedAtPollStart: with filterByCurrentDate false a
// record dated ahead of the clock (skew) is emitted, but the cursor stops at
// the poll's start, so a record dated before that start which reaches the
// search index late is still found by the next poll's pollDelay re-read.
// A cursor moved to the skewed date would skip it for good.
func TestSearchCursorCappedAtPollStart(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 23, SearchDelay: time.Minute}, func(o *Options) {
		setMode("search")(o)
		d := config.Duration(2 * time.Minute)
		o.PollDelay = &d
		o.FilterByCurrentDate = false
		o.Start = "now"
	})
	h.start()
	t0 := epoch.Unix()
	a := h.sim.CreateAt(intercomsim.Conversations, t0+10, t0+10)
	ahead := h.sim.CreateAt(intercomsim.Conversations, t0+3600, t0+3600) // a clock an hour fast
	h.clock.Advance(50 * time.Second)
	late := h.sim.CreateAt(intercomsim.Conversations, t0+55, t0+55) // searchable only at t0+110
	h.clock.Advance(20 * time.Second)
	h.poll()
	h.expectExactly([]intercomsim.Version{a, ahead})
	h.clock.Advance(2 * time.Minute)
	h.poll()
	h.expectExactly([]intercomsim.Version{a, ahead, late})
}
