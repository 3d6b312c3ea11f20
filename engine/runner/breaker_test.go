package runner_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner"
)

// outageReceiver is a scripted receiver: down (503) until up is called,
// counting attempts made while down and the most at once.
type outageReceiver struct {
	up        atomic.Bool
	downCalls atomic.Int64
	mu        sync.Mutex
	running   int
	maxDown   int // most concurrent calls while down
}

func (o *outageReceiver) fail(d engine.Delivery) error {
	if o.up.Load() {
		return nil
	}
	o.downCalls.Add(1)
	o.mu.Lock()
	o.running++
	o.maxDown = max(o.maxDown, o.running)
	o.mu.Unlock()
	defer func() { o.mu.Lock(); o.running--; o.mu.Unlock() }()
	return &engine.DeliveryError{Class: engine.Retry, Status: 503, Err: errors.New("receiver down")}
}

func endpointState(rt *runner.Runtime) string {
	eps := rt.Endpoints()
	if len(eps) != 1 {
		return fmt.Sprintf("%d endpoints", len(eps))
	}
	return eps[0].State
}

// TestBreakerOutage runs a count-bounded outage: 2,000 events over 50
// objects while the receiver answers 503. The breaker goes down after
// TripAfter failures across objects; while down only one probe is out at a
// time and probes do not count against the events' attempts (there are
// far more probes than MaxAttempts, and nothing is dead-lettered); the
// first success brings it up and the whole backlog is delivered once, in
// order per object.
func TestBreakerOutage(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	recv := &outageReceiver{}
	sink := newScriptSink(recv.fail)
	rt := runner.NewRuntime(runner.Options{Store: st, Breaker: runner.Breaker{TripAfter: 5, ProbeInitial: time.Millisecond, ProbeMax: 5 * time.Millisecond}})
	defer rt.Shutdown(context.Background())
	// Attempts before the trip count (with millisecond retries an event may
	// fail a few times before the fifth failure trips the breaker), so the
	// budget is 10: the 30 probes below are more than that.
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(10, 16))})

	const n, keys = 2000, 50
	for i := 0; i < n; i += 200 {
		var evs []engine.Event
		for j := i; j < i+200; j++ {
			evs = append(evs, ev(fmt.Sprintf("e%d", j), fmt.Sprintf("k%d", j%keys), j))
		}
		src.emit(t, evs...)
	}
	waitFor(t, "endpoint down", func() bool { return endpointState(rt) == "down" })
	tripped := recv.downCalls.Load()
	// Probes only: more of them than any event's MaxAttempts (10).
	waitFor(t, "30 probes", func() bool { return recv.downCalls.Load() >= tripped+30 })
	if s, _ := st.Stats(context.Background(), "p"); s.DeadLetters != 0 || s.Queued != n {
		t.Fatalf("while down: %+v, want all %d queued and no dead letters (probes must not count)", s, n)
	}
	// The stored attempt counts stand still while probes fail.
	attempts := func() int {
		recs, err := st.Pending(context.Background(), "p", 0, n)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, r := range recs {
			sum += r.Attempts
		}
		return sum
	}
	before, probes := attempts(), recv.downCalls.Load()
	waitFor(t, "30 more probes", func() bool { return recv.downCalls.Load() >= probes+30 })
	if after := attempts(); after != before {
		t.Fatalf("stored attempts went from %d to %d while only probes ran", before, after)
	}
	ps := rt.Status()[0]
	if ps.Endpoint.State != "down" || ps.Endpoint.LastError == "" || ps.Endpoint.Trips != 1 {
		t.Fatalf("pipeline status endpoint = %+v", ps.Endpoint)
	}

	recv.up.Store(true)
	waitFor(t, "backlog delivered", func() bool { return len(sink.snapshot()) == n })
	checkOnceInKeyOrder(t, sink)
	if got := endpointState(rt); got != "up" {
		t.Errorf("endpoint after recovery = %s, want up", got)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	// Before the trip up to MaxInFlight attempts run at once; after it one
	// probe. What counts is that the down calls stopped growing past the
	// trip: tripped + probes, never the whole backlog.
	if recv.downCalls.Load() > int64(n) {
		t.Errorf("%d attempts while down for %d events: the breaker did not stop them", recv.downCalls.Load(), n)
	}
	// The last acks may still be committing (deferred acks) when the sink
	// has seen every event.
	waitFor(t, "queue empty", func() bool {
		s, _ := st.Stats(context.Background(), "p")
		return s.Queued == 0 || s.DeadLetters != 0
	})
	if s, _ := st.Stats(context.Background(), "p"); s.DeadLetters != 0 || s.Queued != 0 {
		t.Errorf("after recovery: %+v, want empty queue, no dead letters", s)
	}
}

// TestBreakerIgnoresOneFailingObject: one object failing again and again
// never trips the breaker; it dead-letters after its own attempts while
// the others flow.
func TestBreakerIgnoresOneFailingObject(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	sink := newScriptSink(func(d engine.Delivery) error {
		if d.Key == "poison" {
			return &engine.DeliveryError{Class: engine.Retry, Status: 500, Err: errors.New("boom")}
		}
		return nil
	})
	rt := runner.NewRuntime(runner.Options{Store: st, Breaker: runner.Breaker{TripAfter: 2, ProbeInitial: time.Millisecond, ProbeMax: time.Millisecond}})
	defer rt.Shutdown(context.Background())
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(6, 4))})
	var evs []engine.Event
	for i := range 6 {
		evs = append(evs, ev(fmt.Sprintf("p%d", i), "poison", i))
	}
	evs = append(evs, ev("e1", "ok", 1))
	src.emit(t, evs...)
	waitFor(t, "poison dead-lettered", func() bool {
		s, _ := st.Stats(context.Background(), "p")
		return s.DeadLetters == 6 && s.Queued == 0
	})
	if eps := rt.Endpoints(); eps[0].State != "up" || eps[0].Trips != 0 {
		t.Errorf("endpoint = %+v, want up and never tripped", eps[0])
	}
}

// TestWindowStaysBoundedAndPassesWaitingKeys: more records than the window
// holds belong to objects waiting for retries; objects queued behind them
// are still delivered while they wait, the window never holds more than
// its bound, and once the waiting objects recover everything is delivered
// once, in order per object.
func TestWindowStaysBoundedAndPassesWaitingKeys(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	var release atomic.Bool
	sink := newScriptSink(func(d engine.Delivery) error {
		if d.Key[0] == 'w' && !release.Load() {
			return &engine.DeliveryError{Class: engine.Retry, Status: 503, RetryAfter: 300 * time.Millisecond, Err: errors.New("not yet")}
		}
		return nil
	})
	// A breaker that never trips: this is about the window, not the endpoint.
	rt := runner.NewRuntime(runner.Options{Store: st, Breaker: runner.Breaker{TripAfter: 1 << 30}})
	defer rt.Shutdown(context.Background())
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(1<<20, 16))})

	const waiting, behind = 4500, 300
	for i := 0; i < waiting; i += 500 {
		var evs []engine.Event
		for j := i; j < i+500; j++ {
			evs = append(evs, ev(fmt.Sprintf("e%d", j), fmt.Sprintf("w%d", j%200), j))
		}
		src.emit(t, evs...)
	}
	var evs []engine.Event
	for j := waiting; j < waiting+behind; j++ {
		evs = append(evs, ev(fmt.Sprintf("e%d", j), fmt.Sprintf("ok%d", j%30), j))
	}
	src.emit(t, evs...)
	maxWindow := 0
	start := time.Now()
	waitFor(t, "objects behind the window delivered", func() bool {
		maxWindow = max(maxWindow, rt.Status()[0].Delivery.Window)
		return len(sink.snapshot()) == behind
	})
	t.Logf("behind delivered in %v", time.Since(start))
	release.Store(true)
	waitFor(t, "everything delivered", func() bool {
		maxWindow = max(maxWindow, rt.Status()[0].Delivery.Window)
		return len(sink.snapshot()) == waiting+behind
	})
	t.Logf("all delivered in %v", time.Since(start))
	checkOnceInKeyOrder(t, sink)
	if maxWindow > 4096 {
		t.Errorf("window held %d records, bound is 4096", maxWindow)
	}
}
