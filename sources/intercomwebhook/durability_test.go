package intercomwebhook

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner/runnertest"
	"github.com/connectord/connectord/engine/store"
)

func TestDedupeSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	body := notification("notif_restart", "conversation.admin.closed", "5")
	h := startHarness(t, harnessOpts{dir: dir})
	if r := h.postSigned(body); r.Status != "stored" {
		t.Fatalf("first: %+v", r)
	}
	h.Stop()

	h2 := startHarness(t, harnessOpts{dir: dir})
	r := h2.postSigned(body)
	if r.Code != http.StatusOK || r.Status != "duplicate" {
		t.Fatalf("after restart: got %d %+v, want 200 duplicate", r.Code, r)
	}
	if got := h2.Counters().Stored.Load(); got != 0 {
		t.Fatalf("stored %d after restart, want 0", got)
	}
}

func TestSweepExpiresMarksOlderThanTheWindow(t *testing.T) {
	clock := runnertest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := startHarness(t, harnessOpts{clock: clock, sweep: time.Millisecond,
		options: func(o *Options) { o.DedupeWindow = config.Duration(time.Hour) }})
	old := notification("notif_old", "contact.created", "1")
	young := notification("notif_young", "contact.created", "2")
	if r := h.postSigned(old); r.Status != "stored" {
		t.Fatalf("old: %+v", r)
	}
	clock.Advance(50 * time.Minute)
	if r := h.postSigned(young); r.Status != "stored" {
		t.Fatalf("young: %+v", r)
	}
	clock.Advance(20 * time.Minute) // old is 70m old, young 20m

	runnertest.WaitFor(t, "the old mark to expire", func() bool { return !h.HasMark("notif_old") })
	if !h.HasMark("notif_young") {
		t.Fatal("a mark inside the window was swept")
	}
	if keys := h.StateKeys("dedupe-at/"); len(keys) != 1 {
		t.Fatalf("index keys %v, want only the young one", keys)
	}
	if r := h.postSigned(old); r.Status != "stored" {
		t.Fatalf("old after expiry: got %+v, want stored again", r)
	}
	if r := h.postSigned(young); r.Status != "duplicate" {
		t.Fatalf("young: got %+v, want duplicate", r)
	}
	if got := h.Counters().Stored.Load(); got != 3 {
		t.Fatalf("stored %d, want 3", got)
	}
}

func TestStoreFailureIs503AndNeverAcknowledged(t *testing.T) {
	var flaky *runnertest.FlakyStore
	h := startHarness(t, harnessOpts{wrap: func(s store.Store) store.Store { flaky = runnertest.NewFlakyStore(s); return flaky }})
	body := notification("notif_503", "conversation.user.created", "77")

	// Hold the commit: no answer may reach the client while it is pending.
	flaky.Fail.Store(true)
	flaky.Hold.Store(true)
	released := false
	release := func() {
		if !released {
			released = true
			flaky.Hold.Store(false)
			close(flaky.Release)
		}
	}
	t.Cleanup(release) // runs before the harness stops, so a failure cannot hang it
	got := make(chan runnertest.Response, 1)
	go func() { got <- h.postSigned(body) }()
	<-flaky.Entered
	select {
	case r := <-got:
		t.Fatalf("answered %d before the commit finished", r.Code)
	default:
	}
	release()
	r := <-got
	if r.Code != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || r.Error == "" {
		t.Fatalf("got %d %+v Retry-After=%q, want 503 with Retry-After", r.Code, r, r.Header.Get("Retry-After"))
	}
	if msg := h.Counters().SourceError(); msg == "" {
		t.Error("store failure not reported in status")
	}
	h.AssertNothingStored()

	// Intercom's retry succeeds once the store recovers, and is not a duplicate.
	flaky.Fail.Store(false)
	if r := h.postSigned(body); r.Code != http.StatusOK || r.Status != "stored" {
		t.Fatalf("retry: got %d %+v, want stored", r.Code, r)
	}
	if msg := h.Counters().SourceError(); msg != "" {
		t.Errorf("source error %q not cleared after recovery", msg)
	}
	runnertest.WaitFor(t, "delivery", func() bool { return len(h.Sink.Deliveries()) == 1 })
}

func TestConcurrentUniqueNotificationsAreEachStoredOnce(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	const n = 100
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = h.postSigned(notification("notif_c"+strconv.Itoa(i), "conversation.user.created", strconv.Itoa(i%7))).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if got := h.Counters().Stored.Load(); got != n {
		t.Fatalf("stored %d, want %d", got, n)
	}
	runnertest.WaitFor(t, "all deliveries", func() bool { return len(h.Sink.Deliveries()) >= n })
	seen := map[string]bool{}
	for _, d := range h.Sink.Deliveries() {
		if seen[d.ID] {
			t.Fatalf("%s delivered twice", d.ID)
		}
		seen[d.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries, want %d", len(seen), n)
	}
}

func TestConcurrentCopiesOfOneNotificationStoreOneEvent(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	const n = 20
	body := notification("notif_same", "conversation.user.created", "1")
	statuses := make([]runnertest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.postSigned(body)
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, r := range statuses {
		if r.Code != http.StatusOK {
			t.Fatalf("got %d %+v, want 200", r.Code, r)
		}
		count[r.Status]++
	}
	if count["stored"] != 1 || count["duplicate"] != n-1 {
		t.Fatalf("statuses %v, want 1 stored and %d duplicate", count, n-1)
	}
	if got := h.Counters().Stored.Load(); got != 1 {
		t.Fatalf("stored %d, want 1", got)
	}
	runnertest.WaitFor(t, "the delivery", func() bool { return len(h.Sink.Deliveries()) == 1 })
}
