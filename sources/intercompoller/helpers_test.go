package intercompoller

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

const (
	testToken    = "tok-s3cret-value"
	testPipeline = "p"
)

// epoch is the simulated "now" at the start of each test.
var epoch = time.Date(2024, 6, 27, 12, 0, 0, 0, time.UTC)

// harness runs an intercom_poller against intercomsim through a real
// runner.Runtime and bbolt store, with a fake clock shared by all three and
// polls stepped one at a time.
type harness struct {
	t      testing.TB
	clock  *intercomsim.FakeClock
	sim    *intercomsim.Server
	srv    *httptest.Server
	dbPath string
	st     *store.Bolt
	rt     *runner.Runtime
	sink   *recordSink
	waiter *stepWaiter
	opts   *Options
	tr     []engine.Transform
	// pollTimeout bounds how long awaitPoll waits (default 30s).
	pollTimeout time.Duration
}

func newHarness(t testing.TB, simOpts intercomsim.Options, configure func(*Options)) *harness {
	t.Helper()
	clock := intercomsim.NewFakeClock(epoch)
	simOpts.Token, simOpts.Clock = testToken, clock
	sim := intercomsim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	opts := NewOptions()
	opts.API = srv.URL
	opts.Token = testToken
	opts.Resource = "conversations"
	opts.Start = "all"
	opts.RefreshInterval = Interval(time.Minute)
	if configure != nil {
		configure(opts)
	}
	h := &harness{t: t, clock: clock, sim: sim, srv: srv, dbPath: filepath.Join(t.TempDir(), "db"),
		sink: newRecordSink(), opts: opts, tr: []engine.Transform{captureMeta{}}}
	h.openStore()
	t.Cleanup(func() {
		if h.rt != nil {
			h.rt.Shutdown(context.Background())
		}
		h.st.Close()
	})
	return h
}

func (h *harness) openStore() {
	st, err := store.Open(h.dbPath)
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
}

// start builds the source, starts the runtime and waits for the first poll
// (which runs at once) to finish.
func (h *harness) start() {
	h.t.Helper()
	h.startNoWait()
	h.awaitPoll()
}

func (h *harness) startNoWait() {
	h.t.Helper()
	h.startWithSink(h.sink)
}

func (h *harness) startWithSink(sink engine.Sink) {
	h.t.Helper()
	src, err := h.opts.NewSource(engine.BuildContext{Pipeline: testPipeline, Clock: h.clock})
	if err != nil {
		h.t.Fatalf("NewSource: %v", err)
	}
	h.waiter = newStepWaiter(h.clock)
	src.(*Source).waiter = h.waiter
	h.rt = runner.NewRuntime(runner.Options{Store: h.st, Clock: h.clock})
	b := &runner.Built{
		Spec:   config.Pipeline{Name: testPipeline, Source: config.Component{Kind: "intercom_poller"}, Sink: config.Component{Kind: "test"}},
		Source: src, Sink: sink, Transforms: h.tr, Hash: "h",
		Policy: engine.Policy{MaxInFlight: 8, Retry: engine.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Multiplier: 2, Max: time.Millisecond, NoJitter: true}},
	}
	h.rt.Apply(context.Background(), []*runner.Built{b})
}

// stop shuts the runtime down (the source stops mid-poll if it is polling).
func (h *harness) stop() {
	h.rt.Shutdown(context.Background())
	h.rt = nil
}

// poll lets the next poll run and waits until it is done.
func (h *harness) poll() {
	h.t.Helper()
	select {
	case h.waiter.next <- struct{}{}:
	case <-time.After(20 * time.Second):
		h.t.Fatal("poller is not waiting for its interval")
	}
	h.awaitPoll()
}

func (h *harness) awaitPoll() {
	h.t.Helper()
	select {
	case <-h.waiter.polled:
	case <-time.After(cmp.Or(h.pollTimeout, 30*time.Second)):
		h.t.Fatal("timed out waiting for a poll to finish")
	}
}

// settle waits until every stored event was delivered.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		s, err := h.st.Stats(context.Background(), testPipeline)
		if err != nil {
			h.t.Fatal(err)
		}
		if s.Queued == 0 {
			return
		}
		select {
		case <-deadline:
			h.t.Fatalf("%d events still queued", s.Queued)
		case <-tick.C:
		}
	}
}

func (h *harness) sourceError() string { return h.rt.Counters(testPipeline).SourceError() }

// expectExactly checks that the delivered changes are exactly want: every
// (id, updated) once, no eventId twice, nothing else.
func (h *harness) expectExactly(want []intercomsim.Version) {
	h.t.Helper()
	h.settle()
	got := h.sink.snapshot()
	wantSet := map[string]bool{}
	for _, v := range want {
		wantSet[changeKey(v.ID, v.UpdatedAt)] = true
	}
	seenChange, seenEvent := map[string]int{}, map[string]int{}
	for _, d := range got {
		seenChange[changeKey(d.ObjectID, d.Updated)]++
		seenEvent[d.EventID]++
	}
	var problems []string
	for k, n := range seenChange {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("change %s delivered %d times", k, n))
		}
		if !wantSet[k] {
			problems = append(problems, fmt.Sprintf("unexpected change %s", k))
		}
	}
	for k, n := range seenEvent {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("eventId %s delivered %d times", k, n))
		}
	}
	for k := range wantSet {
		if seenChange[k] == 0 {
			problems = append(problems, fmt.Sprintf("missing change %s", k))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("... and %d more", len(problems)-20))
		}
		h.t.Fatalf("delivered %d events, want %d:\n%s", len(got), len(wantSet), strings.Join(problems, "\n"))
	}
}

func changeKey(id string, updated int64) string { return fmt.Sprintf("%s@%d", id, updated) }

// captureMeta wraps each event's value with its meta, so the sink can check
// what the poller set.
type captureMeta struct{}

func (captureMeta) Apply(_ context.Context, ev engine.Event) ([]engine.Event, error) {
	ev.Value = map[string]any{"meta": map[string]any(ev.Meta), "record": ev.Value}
	return []engine.Event{ev}, nil
}

// delivered is one event as the receiver got it.
type delivered struct {
	EventID  string
	ObjectID string
	Updated  int64
	Meta     map[string]any
	Record   map[string]any
}

type recordSink struct {
	mu  sync.Mutex
	got []delivered
}

func newRecordSink() *recordSink { return &recordSink{} }

func (s *recordSink) Deliver(_ context.Context, d engine.Delivery) error {
	var body struct {
		Meta   map[string]any `json:"meta"`
		Record map[string]any `json:"record"`
	}
	if err := json.Unmarshal(d.Body, &body); err != nil {
		return &engine.DeliveryError{Class: engine.Permanent, Err: err}
	}
	updated, _ := body.Record["updated_at"].(float64)
	id, _ := body.Record["id"].(string)
	s.mu.Lock()
	s.got = append(s.got, delivered{EventID: d.ID, ObjectID: id, Updated: int64(updated), Meta: body.Meta, Record: body.Record})
	s.mu.Unlock()
	return nil
}

func (s *recordSink) snapshot() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.got...)
}

// stepWaiter replaces the poller's timers: rate-limit and backoff waits
// advance the fake clock and return at once; the interval wait reports the
// poll as done and blocks until the test asks for the next poll.
type stepWaiter struct {
	clock  *intercomsim.FakeClock
	polled chan struct{}
	next   chan struct{}

	mu    sync.Mutex
	waits map[waitKind][]time.Duration
}

func newStepWaiter(c *intercomsim.FakeClock) *stepWaiter {
	return &stepWaiter{clock: c, polled: make(chan struct{}), next: make(chan struct{}), waits: map[waitKind][]time.Duration{}}
}

func (w *stepWaiter) wait(ctx context.Context, d time.Duration, why waitKind) error {
	w.mu.Lock()
	w.waits[why] = append(w.waits[why], d)
	w.mu.Unlock()
	if why != waitInterval {
		w.clock.Advance(d)
		return ctx.Err()
	}
	select {
	case w.polled <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w.next:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *stepWaiter) waitsOf(why waitKind) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits[why]...)
}

// versions filters a snapshot.
func versions(vs []intercomsim.Version, keep func(intercomsim.Version) bool) []intercomsim.Version {
	var out []intercomsim.Version
	for _, v := range vs {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// modes runs a test in list and in search mode.
func modes(t *testing.T, fn func(t *testing.T, mode string)) {
	for _, m := range []string{"list", "search"} {
		t.Run(m, func(t *testing.T) { fn(t, m) })
	}
}

// setMode configures conversations in the given mode, with no pollDelay
// unless the test sets one.
func setMode(mode string) func(*Options) {
	return func(o *Options) {
		o.Mode = mode
		if mode == "search" {
			o.URL = "/conversations/search"
			zero := config.Duration(0)
			o.PollDelay = &zero
		}
	}
}
