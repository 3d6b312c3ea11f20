package runner_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// pushSource emits whatever the test sends on its channel.
type pushSource struct {
	in   chan []engine.Event
	errs chan error
}

func newPushSource() *pushSource {
	return &pushSource{in: make(chan []engine.Event), errs: make(chan error)}
}

func (s *pushSource) Run(ctx context.Context, host engine.Host) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case evs := <-s.in:
			s.errs <- host.Emit(ctx, evs)
		}
	}
}

func (s *pushSource) emit(t *testing.T, evs ...engine.Event) {
	t.Helper()
	s.in <- evs
	if err := <-s.errs; err != nil {
		t.Fatalf("emit: %v", err)
	}
}

// scriptSink records deliveries and fails them as its script says.
type scriptSink struct {
	mu        sync.Mutex
	delivered []engine.Delivery
	attempts  map[string]int
	inflight  map[string]bool // keys in flight, to catch concurrent same-key calls
	fail      func(d engine.Delivery) error
	notify    chan struct{}
	violation string
}

func newScriptSink(fail func(engine.Delivery) error) *scriptSink {
	return &scriptSink{attempts: map[string]int{}, inflight: map[string]bool{}, fail: fail, notify: make(chan struct{}, 1)}
}

func (s *scriptSink) Deliver(ctx context.Context, d engine.Delivery) error {
	s.mu.Lock()
	if s.inflight[d.Key] {
		s.violation = "two deliveries of key " + d.Key + " at once"
	}
	s.inflight[d.Key] = true
	s.attempts[d.ID]++
	s.mu.Unlock()
	var err error
	if s.fail != nil {
		err = s.fail(d)
	}
	s.mu.Lock()
	delete(s.inflight, d.Key)
	if err == nil {
		s.delivered = append(s.delivered, d)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return err
}

func (s *scriptSink) snapshot() []engine.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.Delivery(nil), s.delivered...)
}

func openStore(t *testing.T, dir string) *store.Bolt {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func fastPolicy(maxAttempts, inflight int) engine.Policy {
	return engine.Policy{MaxInFlight: inflight, Retry: engine.RetryPolicy{
		MaxAttempts: maxAttempts, Initial: time.Millisecond, Multiplier: 2, Max: 20 * time.Millisecond, NoJitter: true,
	}}
}

func built(name, hash string, src engine.Source, sink engine.Sink, p engine.Policy, tr ...engine.Transform) *runner.Built {
	return &runner.Built{
		Spec:   config.Pipeline{Name: name, Source: config.Component{Kind: "test"}, Sink: config.Component{Kind: "test"}},
		Source: src, Sink: sink, Policy: p, Transforms: tr, Hash: hash,
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// checkOnceInKeyOrder fails unless every delivery of the sink (ids "e<n>")
// happened once, in increasing n per key, never two of a key at once.
func checkOnceInKeyOrder(t *testing.T, sink *scriptSink) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int{}
	for _, d := range sink.snapshot() {
		if seen[d.ID] {
			t.Fatalf("%s delivered twice", d.ID)
		}
		seen[d.ID] = true
		var i int
		fmt.Sscanf(d.ID, "e%d", &i)
		if p, ok := last[d.Key]; ok && p > i {
			t.Fatalf("key %s out of order: e%d after e%d", d.Key, i, p)
		}
		last[d.Key] = i
	}
	if sink.violation != "" {
		t.Fatal(sink.violation)
	}
}

func ev(id, key string, n int) engine.Event {
	return engine.Event{ID: id, Key: key, Value: map[string]any{"n": n, "key": key}}
}

func TestDeliversEveryEventOncePerKeyInOrder(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	sink := newScriptSink(nil)
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h1", src, sink, fastPolicy(3, 8))})

	const n = 300
	for i := 0; i < n; i += 10 {
		var evs []engine.Event
		for j := i; j < i+10; j++ {
			evs = append(evs, ev(fmt.Sprintf("e%d", j), fmt.Sprintf("k%d", j%7), j))
		}
		src.emit(t, evs...)
	}
	waitFor(t, "all delivered", func() bool { return len(sink.snapshot()) == n })
	rt.Shutdown(context.Background())

	checkOnceInKeyOrder(t, sink)
	stats, _ := st.Stats(context.Background(), "p")
	if stats.Queued != 0 {
		t.Errorf("queue depth after delivery = %d, want 0", stats.Queued)
	}
}

func TestRetryThenDeadLetterThenOthersProceed(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	sink := newScriptSink(func(d engine.Delivery) error {
		switch d.Key {
		case "flaky": // fails twice, then succeeds
			if d.Attempt <= 2 {
				return &engine.DeliveryError{Class: engine.Retry, Status: 503, Err: errors.New("busy")}
			}
		case "broken":
			return &engine.DeliveryError{Class: engine.Retry, Status: 500, Err: errors.New("boom")}
		case "rejected":
			return &engine.DeliveryError{Class: engine.Permanent, Status: 400, Response: "bad", Err: errors.New("bad request")}
		}
		return nil
	})
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(4, 4))})
	src.emit(t, ev("a", "flaky", 1), ev("b", "broken", 2), ev("c", "rejected", 3), ev("d", "fine", 4), ev("e", "broken", 5))

	waitFor(t, "outcomes", func() bool {
		s, _ := st.Stats(context.Background(), "p")
		return len(sink.snapshot()) == 2 && s.DeadLetters == 3 && s.Queued == 0
	})
	rt.Shutdown(context.Background())

	dls, err := st.DeadLetters(context.Background(), "p", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.DeadLetter{}
	for _, d := range dls {
		byID[d.ID] = d
	}
	if d := byID["b"]; d.Attempts != 4 || d.Status != 500 {
		t.Errorf("exhausted dead letter = %+v, want 4 attempts, status 500", d)
	}
	if d := byID["c"]; d.Attempts != 1 || d.Status != 400 || d.Response != "bad" {
		t.Errorf("permanent dead letter = %+v, want 1 attempt, 400, response", d)
	}
	if _, ok := byID["e"]; !ok {
		t.Error("second event of the broken object was not dead-lettered after its own retries")
	}
	if sink.attempts["a"] != 3 {
		t.Errorf("flaky attempts = %d, want 3", sink.attempts["a"])
	}
}

func TestGonePausesUntilResumed(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	var gone sync.Once
	sink := newScriptSink(func(d engine.Delivery) error {
		var err error
		gone.Do(func() { err = &engine.DeliveryError{Class: engine.Gone, Status: 410, Err: errors.New("gone")} })
		return err
	})
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, 1))})
	src.emit(t, ev("first", "k", 1))
	waitFor(t, "pause", func() bool { return rt.Status()[0].State == "paused" })
	src.emit(t, ev("second", "k", 2))
	// While paused nothing is delivered; the second event stays queued.
	if s, _ := st.Stats(context.Background(), "p"); s.Queued != 1 || s.DeadLetters != 1 {
		t.Fatalf("paused stats = %+v, want 1 queued, 1 dead", s)
	}
	if err := rt.Resume(context.Background(), "p"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after resume", func() bool { return len(sink.snapshot()) == 1 })
	rt.Shutdown(context.Background())
}

func TestRestartContinuesRetrySchedule(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	src := newPushSource()
	sink := newScriptSink(func(d engine.Delivery) error {
		return &engine.DeliveryError{Class: engine.Retry, Status: 503, RetryAfter: time.Hour, Err: errors.New("later")}
	})
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(10, 1))})
	src.emit(t, ev("x", "k", 1))
	waitFor(t, "first attempt", func() bool {
		r, err := st.Pending(context.Background(), "p", 0, 1)
		return err == nil && len(r) == 1 && r[0].Attempts == 1
	})
	rt.Shutdown(context.Background())
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	recs, _ := st.Pending(context.Background(), "p", 0, 10)
	if len(recs) != 1 || recs[0].Attempts != 1 || time.Until(recs[0].NextAttempt) < 50*time.Minute {
		t.Fatalf("after restart: %+v, want 1 attempt with the next in ~1h", recs)
	}
	sink2 := newScriptSink(nil)
	rt = runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", newPushSource(), sink2, fastPolicy(10, 1))})
	// The schedule holds: nothing is delivered before the stored next attempt.
	st2, _ := st.Stats(context.Background(), "p")
	rt.Shutdown(context.Background())
	if len(sink2.snapshot()) != 0 || st2.Queued != 1 {
		t.Fatalf("restart ignored the schedule: delivered %d, queued %d", len(sink2.snapshot()), st2.Queued)
	}
}

// TestRandomFailuresProperty: with random retryable and permanent failures
// across many objects, every event ends delivered or dead-lettered exactly
// once, and each object's deliveries keep queue order.
func TestRandomFailuresProperty(t *testing.T) {
	for round := 0; round < 3; round++ {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			st := openStore(t, t.TempDir())
			defer st.Close()
			rng := rand.New(rand.NewPCG(uint64(round), 42))
			var mu sync.Mutex
			decide := map[string][]int{} // per event: outcome per attempt
			const n, keys = 400, 23
			for i := 0; i < n; i++ {
				var plan []int
				for a := 0; a < 4; a++ {
					plan = append(plan, rng.IntN(10)) // 0-5 ok, 6-8 retry, 9 permanent
				}
				decide[fmt.Sprintf("e%d", i)] = plan
			}
			sink := newScriptSink(func(d engine.Delivery) error {
				mu.Lock()
				o := decide[d.ID][min(d.Attempt-1, 3)]
				mu.Unlock()
				switch {
				case o <= 5:
					return nil
				case o <= 8:
					return &engine.DeliveryError{Class: engine.Retry, Status: 500, Err: errors.New("retry")}
				default:
					return &engine.DeliveryError{Class: engine.Permanent, Status: 422, Err: errors.New("no")}
				}
			})
			src := newPushSource()
			rt := runner.NewRuntime(runner.Options{Store: st})
			rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, 8))})
			for i := 0; i < n; i += 20 {
				var evs []engine.Event
				for j := i; j < i+20; j++ {
					evs = append(evs, ev(fmt.Sprintf("e%d", j), fmt.Sprintf("k%d", j%keys), j))
				}
				src.emit(t, evs...)
			}
			var dead int
			waitFor(t, "all settled", func() bool {
				s, _ := st.Stats(context.Background(), "p")
				dead = s.DeadLetters
				return s.Queued == 0 && len(sink.snapshot())+dead == n
			})
			rt.Shutdown(context.Background())

			// Expected outcome per event from its plan with 3 attempts.
			wantDelivered := 0
			for _, plan := range decide {
				for a := 0; a < 3; a++ {
					if plan[a] <= 5 {
						wantDelivered++
						break
					}
					if plan[a] == 9 {
						break
					}
				}
			}
			got := sink.snapshot()
			if len(got) != wantDelivered || dead != n-wantDelivered {
				t.Fatalf("delivered %d dead %d, want %d and %d", len(got), dead, wantDelivered, n-wantDelivered)
			}
			checkOnceInKeyOrder(t, sink)
		})
	}
}

func TestApplyLeavesUnchangedAndDrainsRemoved(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	rt := runner.NewRuntime(runner.Options{Store: st})
	a, b := newPushSource(), newPushSource()
	sa, sb := newScriptSink(nil), newScriptSink(nil)
	res := rt.Apply(context.Background(), []*runner.Built{
		built("a", "ha", a, sa, fastPolicy(3, 2)), built("b", "hb", b, sb, fastPolicy(3, 2)),
	})
	if len(res.Started) != 2 {
		t.Fatalf("started %v", res.Started)
	}
	genA := rt.Status()[0].Generation
	a2 := newPushSource()
	res = rt.Apply(context.Background(), []*runner.Built{
		built("a", "ha", a2, sa, fastPolicy(3, 2)), // same hash: untouched
		built("c", "hc", newPushSource(), newScriptSink(nil), fastPolicy(3, 2)),
	})
	if fmt.Sprint(res.Unchanged, res.Started, res.Stopped) != "[a] [c] [b]" {
		t.Fatalf("apply result = %+v", res)
	}
	if rt.Status()[0].Generation != genA {
		t.Error("unchanged pipeline got a new generation")
	}
	a.emit(t, ev("x", "k", 1)) // the original source still runs
	waitFor(t, "delivery on unchanged pipeline", func() bool { return len(sa.snapshot()) == 1 })
	rt.Shutdown(context.Background())
}

// upper is a transform that dead-letters events whose value has "bad".
type failing struct{}

func (failing) Apply(_ context.Context, e engine.Event) ([]engine.Event, error) {
	if m, ok := e.Value.(map[string]any); ok && m["bad"] == true {
		return nil, errors.New("cannot transform")
	}
	if m, ok := e.Value.(map[string]any); ok && m["drop"] == true {
		return nil, nil
	}
	return []engine.Event{e, e}, nil // fan out
}

func TestTransformErrorsDeadLetterAndFanOut(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	sink := newScriptSink(nil)
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, 2), failing{})})
	src.emit(t,
		engine.Event{ID: "ok", Key: "1", Value: map[string]any{"x": 1}},
		engine.Event{ID: "bad", Key: "2", Value: map[string]any{"bad": true}},
		engine.Event{ID: "drop", Key: "3", Value: map[string]any{"drop": true}},
	)
	waitFor(t, "fan-out delivered", func() bool { return len(sink.snapshot()) == 2 })
	rt.Shutdown(context.Background())
	ids := []string{sink.snapshot()[0].ID, sink.snapshot()[1].ID}
	if ids[0] != "ok" || ids[1] != "ok-1" {
		t.Errorf("fan-out ids = %v, want [ok ok-1]", ids)
	}
	dls, _ := st.DeadLetters(context.Background(), "p", 0, 10)
	if len(dls) != 1 || dls[0].Stage != "transform" || dls[0].ID != "bad" || string(dls[0].Body) != `{"bad":true}` {
		t.Fatalf("transform dead letters = %+v", dls)
	}
	tot := rt.Counters("p").Snapshot()
	if tot.In != 3 || tot.Filtered != 1 || tot.Stored != 2 || tot.DeadLettered != 1 || tot.Delivered != 2 {
		t.Errorf("totals = %+v", tot)
	}
}

type panicky struct{}

func (panicky) Apply(_ context.Context, e engine.Event) ([]engine.Event, error) {
	if m, ok := e.Value.(map[string]any); ok && m["boom"] == true {
		panic("transform bug")
	}
	return []engine.Event{e}, nil
}

// TestPanicsStayInTheirEvent: a panicking transform dead-letters its event
// and a panicking sink is retried; the daemon and other events go on.
func TestPanicsStayInTheirEvent(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	var once sync.Once
	sink := newScriptSink(func(d engine.Delivery) error {
		once.Do(func() { panic("sink bug") })
		return nil
	})
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, 1), panicky{})})
	src.emit(t,
		engine.Event{ID: "ok", Key: "1", Value: map[string]any{"x": 1}},
		engine.Event{ID: "bad", Key: "2", Value: map[string]any{"boom": true}},
	)
	waitFor(t, "delivery after the sink's panic", func() bool { return len(sink.snapshot()) == 1 })
	rt.Shutdown(context.Background())
	dls, _ := st.DeadLetters(context.Background(), "p", 0, 10)
	if len(dls) != 1 || dls[0].ID != "bad" || !strings.Contains(dls[0].Error, "panic: transform bug") {
		t.Fatalf("dead letters = %+v", dls)
	}
	if sink.attempts["ok"] != 2 {
		t.Errorf("attempts after a sink panic = %d, want 2 (the panic counted as a failed attempt)", sink.attempts["ok"])
	}
}

// spread fans an event out to three, numbered n 0, 1 and 2.
type spread struct{}

func (spread) Apply(_ context.Context, e engine.Event) ([]engine.Event, error) {
	out := make([]engine.Event, 3)
	for n := range out {
		out[n] = e
		out[n].Value = map[string]any{"n": n}
	}
	return out, nil
}

// keepEven is a Predicate keeping even n; the engine must ask Keep.
type keepEven struct{}

func (keepEven) Apply(context.Context, engine.Event) ([]engine.Event, error) {
	panic("Apply called on a Predicate")
}

func (keepEven) Keep(_ context.Context, e engine.Event) (bool, error) {
	return e.Value.(map[string]any)["n"].(int)%2 == 0, nil
}

// A Predicate after a fan-out keeps the outputs it keeps, in order.
func TestPredicateAfterFanOut(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	sink := newScriptSink(nil)
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, 2), spread{}, keepEven{})})
	src.emit(t, engine.Event{ID: "x", Key: "1", Value: map[string]any{}})
	waitFor(t, "kept outputs delivered", func() bool { return len(sink.snapshot()) == 2 })
	rt.Shutdown(context.Background())
	got := []string{string(sink.snapshot()[0].Body), string(sink.snapshot()[1].Body)}
	if got[0] != `{"n":0}` || got[1] != `{"n":2}` {
		t.Fatalf("delivered %v, want n 0 then 2", got)
	}
	if dls, _ := st.DeadLetters(context.Background(), "p", 0, 10); len(dls) != 0 {
		t.Fatalf("dead letters %+v", dls)
	}
}
