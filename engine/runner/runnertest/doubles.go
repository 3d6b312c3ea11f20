package runnertest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/store"
)

// RecordingSink accepts every delivery and remembers it.
type RecordingSink struct {
	mu  sync.Mutex
	got []engine.Delivery
}

var _ engine.Sink = (*RecordingSink)(nil)

// Deliver records d.
func (s *RecordingSink) Deliver(_ context.Context, d engine.Delivery) error {
	s.mu.Lock()
	s.got = append(s.got, d)
	s.mu.Unlock()
	return nil
}

// Deliveries returns what was delivered so far.
func (s *RecordingSink) Deliveries() []engine.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.Delivery(nil), s.got...)
}

// MetaTap is a pass-through transform that records each event it sees, so
// tests can check the Event (ID, Key, Meta) a source emitted.
type MetaTap struct {
	mu  sync.Mutex
	evs []engine.Event
}

var _ engine.Transform = (*MetaTap)(nil)

// Apply records ev and passes it on.
func (m *MetaTap) Apply(_ context.Context, ev engine.Event) ([]engine.Event, error) {
	m.mu.Lock()
	m.evs = append(m.evs, ev)
	m.mu.Unlock()
	return []engine.Event{ev}, nil
}

// Events returns the events seen so far.
func (m *MetaTap) Events() []engine.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]engine.Event(nil), m.evs...)
}

// Clock is a clock the test moves by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

var _ engine.Clock = (*Clock)(nil)

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// FlakyStore fails intake commits (those appending events or setting
// dedupe marks) while Fail is set, and while Hold is set parks each one,
// signalling Entered, until Release is closed.
type FlakyStore struct {
	store.Store
	Fail    atomic.Bool
	Hold    atomic.Bool
	Entered chan struct{}
	Release chan struct{}
}

// NewFlakyStore wraps st.
func NewFlakyStore(st store.Store) *FlakyStore {
	return &FlakyStore{Store: st, Entered: make(chan struct{}, 1), Release: make(chan struct{})}
}

// ErrInjected is the failure FlakyStore returns.
var ErrInjected = errors.New("injected store failure")

// Commit fails or parks intake batches as told; others pass through.
func (f *FlakyStore) Commit(ctx context.Context, b *store.Batch) error {
	if isIntakeBatch(b) {
		if f.Hold.Load() {
			f.Entered <- struct{}{}
			<-f.Release
		}
		if f.Fail.Load() {
			return ErrInjected
		}
	}
	return f.Store.Commit(ctx, b)
}

func isIntakeBatch(b *store.Batch) bool {
	for _, op := range b.Ops {
		if op.Kind == store.OpAppend || op.Kind == store.OpPutIfAbsent {
			return true
		}
	}
	return false
}
