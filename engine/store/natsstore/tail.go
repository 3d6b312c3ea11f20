package natsstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/connectord/connectord/engine/store"
)

// tail follows the stream for the store's lifetime with a consumer of its
// own, applying every message to the state: other writers' appends,
// updates, acks, dead letters and keys, and this store's own (skipped when
// the commit goroutine applied them first).
//
// The consumer is an ephemeral, unacknowledged, in-memory one on a single
// server, as the client's ordered consumer makes, but the tail recreates it
// itself: the ordered consumer waits 1 s, 2 s, 4 s… between attempts, each
// of up to 10 s, and when the node holding it stopped with the stream's (or
// the cluster's) leader, it stalled a replica's tail for about 10 s, and
// the delivery of every partition that replica took over with it (the
// chaos test, CI of stop 22). Here an attempt has tailAttempt, and the
// next follows at once, then after up to tailBackoff.
type tail struct {
	reset chan struct{} // one slot: recreate the consumer
	stop  chan struct{}
	done  chan struct{}
	name  string // consumer name prefix, unique to this store

	// applying is held from a message's serial check to its application,
	// and while a new consumer's start is chosen: none is applied twice
	// or skipped across a reset.
	applying sync.Mutex

	mu        sync.Mutex
	serial    int           // of the current consumer; older ones' messages are dropped
	delivered uint64        // the current consumer's last delivery sequence
	resets    int           // consumers recreated, for tests and status
	pos       uint64        // last stream sequence applied
	progress  chan struct{} // closed (and replaced) when pos advances and wanted
	wanted    bool          // a Sync waits on progress
	err       error         // a message that is not the store's
	watchers  map[string][]chan uint64
	lastPrune time.Time
}

var _ store.Watcher = (*Store)(nil)

const (
	// tailHeartbeat is the tail's idle heartbeat (the client's minimum):
	// two missed, and the consumer is recreated (the default, 15 s,
	// stalled commits for 10 s when the stream leader's node stopped;
	// TestLeaderLossGap).
	tailHeartbeat = 500 * time.Millisecond
	// tailAttempt bounds one attempt to create the consumer: a request
	// to a meta leader that just died is never answered.
	tailAttempt = time.Second
	tailBackoff = time.Second
)

func (s *Store) startTail(ctx context.Context, from uint64) error {
	t := &s.tail
	t.progress = make(chan struct{})
	t.watchers = map[string][]chan uint64{}
	t.pos = from - 1
	t.reset = make(chan struct{}, 1)
	t.stop = make(chan struct{})
	t.done = make(chan struct{})
	t.name = "connectord_tail_" + nuid.Next()
	s.mu.Lock()
	s.st.tailed = from - 1
	s.mu.Unlock()
	// An attempt is bounded to tailAttempt, and a busy cluster misses
	// one now and then (replicas opening a fresh stream at once, under
	// load): attempts go on, as followTail's do, until ctx (Open's
	// connect timeout) ends, instead of failing Open after the first.
	cc, err := s.subscribeTail(ctx)
	for wait := 100 * time.Millisecond; err != nil; wait = min(2*wait, tailBackoff) {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		cc, err = s.subscribeTail(ctx)
	}
	go s.followTail(cc)
	return nil
}

// subscribeTail creates a consumer from the first message not yet applied
// and consumes it.
func (s *Store) subscribeTail(ctx context.Context) (jetstream.ConsumeContext, error) {
	t := &s.tail
	t.applying.Lock()
	t.mu.Lock()
	t.serial++
	t.delivered = 0
	serial, from := t.serial, t.pos+1
	t.mu.Unlock()
	t.applying.Unlock()
	actx, cancel := context.WithTimeout(ctx, tailAttempt)
	defer cancel()
	cons, err := s.js.CreateOrUpdateConsumer(actx, s.opts.stream, jetstream.ConsumerConfig{
		Name:              fmt.Sprintf("%s_%d", t.name, serial),
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     s.layout.filter(),
		InactiveThreshold: time.Minute, // a crashed store's consumer goes away
		Replicas:          1,
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("tail consumer from %d: %w", from, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { s.tailDelivered(serial, msg) },
		jetstream.PullHeartbeat(tailHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { s.tailError(serial, err) }))
	if err != nil {
		s.deleteConsumer(cons.CachedInfo().Name)
		return nil, fmt.Errorf("tail consume: %w", err)
	}
	return cc, nil
}

// followTail recreates the consumer whenever it is reset, until the store
// closes.
func (s *Store) followTail(cc jetstream.ConsumeContext) {
	t := &s.tail
	defer close(t.done)
	backoff := time.Duration(0)
	for {
		select {
		case <-t.stop:
			s.dropTailConsumer(cc)
			return
		case <-t.reset:
		}
		s.dropTailConsumer(cc)
		cc = nil
		for cc == nil {
			if backoff > 0 {
				select {
				case <-t.stop:
					return
				case <-time.After(backoff):
				}
			}
			var err error
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-t.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			cc, err = s.subscribeTail(ctx)
			cancel()
			if err != nil {
				backoff = min(max(2*backoff, 100*time.Millisecond), tailBackoff)
				continue
			}
			backoff = 0
			t.mu.Lock()
			t.resets++
			t.mu.Unlock()
		}
		// A reset asked while recreating is already served.
		select {
		case <-t.reset:
		default:
		}
	}
}

func (s *Store) dropTailConsumer(cc jetstream.ConsumeContext) {
	if cc == nil {
		return
	}
	cc.Stop()
	s.tail.mu.Lock()
	name := fmt.Sprintf("%s_%d", s.tail.name, s.tail.serial)
	s.tail.mu.Unlock()
	go s.deleteConsumer(name)
}

// deleteConsumer removes a consumer the tail no longer reads; one it
// cannot reach goes away when inactive.
func (s *Store) deleteConsumer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.js.DeleteConsumer(ctx, s.opts.stream, name)
}

// resetTail asks for a new consumer: the current one missed heartbeats,
// skipped a message, was deleted, or makes no progress while a Sync waits.
func (s *Store) resetTail() {
	select {
	case s.tail.reset <- struct{}{}:
	default:
	}
}

func (s *Store) tailError(serial int, err error) {
	s.tail.mu.Lock()
	current := serial == s.tail.serial
	s.tail.mu.Unlock()
	if !current {
		return
	}
	switch {
	case errors.Is(err, jetstream.ErrNoHeartbeat),
		errors.Is(err, jetstream.ErrConsumerDeleted),
		errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, jetstream.ErrBadRequest),
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed):
		s.resetTail()
	}
}

// tailDelivered checks that a message is the current consumer's next, then
// applies it; a gap (a message lost between server and client) resets the
// consumer from the last message applied.
func (s *Store) tailDelivered(serial int, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		return
	}
	s.tail.applying.Lock()
	defer s.tail.applying.Unlock()
	s.tail.mu.Lock()
	if serial != s.tail.serial {
		s.tail.mu.Unlock()
		return
	}
	if md.Sequence.Consumer != s.tail.delivered+1 {
		s.tail.mu.Unlock()
		s.resetTail()
		return
	}
	s.tail.delivered = md.Sequence.Consumer
	s.tail.mu.Unlock()
	s.tailed(msg, md.Sequence.Stream)
}

func (s *Store) stopTail() {
	if s.tail.stop == nil {
		return
	}
	close(s.tail.stop)
	<-s.tail.done
}

// tailed applies one message of the stream.
func (s *Store) tailed(msg jetstream.Msg, seq uint64) {
	now := time.Now()
	applied := false
	var d decoded
	var derr error
	s.mu.Lock()
	// Most messages are this store's own, applied at their acknowledgement:
	// skip those without decoding them again.
	if mk, ok := s.st.subjects[msg.Subject()]; !ok || seq > mk.seq {
		if d, derr = decode(msg.Data()); derr == nil {
			applied = s.st.applyAt(msg.Subject(), seq, &d, now)
			if applied && d.kind == kindGone && d.gone == kindKV {
				s.seen.forget(msg.Subject())
			}
		}
	}
	s.st.tailed = max(s.st.tailed, seq)
	s.tail.mu.Lock()
	prune := now.Sub(s.tail.lastPrune) > time.Second
	if prune {
		s.tail.lastPrune = now
	}
	s.tail.mu.Unlock()
	if prune {
		s.st.prune(now)
	}
	s.mu.Unlock()

	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	if derr != nil && s.tail.err == nil {
		s.tail.err = fmt.Errorf("message %d on %s: %w (is another application publishing to %s?): %v", seq, msg.Subject(), errForeign, s.layout.filter(), derr)
	}
	if seq > s.tail.pos {
		s.tail.pos = seq
		if s.tail.wanted {
			close(s.tail.progress)
			s.tail.progress = make(chan struct{})
			s.tail.wanted = false
		}
	}
	if !applied {
		return
	}
	var changed uint64
	switch {
	case d.kind == kindRecord:
		changed = d.rec.Seq
	case d.kind == kindGone && d.gone == kindRecord:
		changed = d.seq
	default:
		return
	}
	for _, ch := range s.tail.watchers[d.pipeline] {
		notify(ch, changed)
	}
}

// notify hands seq to a watcher's one-slot channel, keeping the lowest
// Seq not yet taken. Only the tail sends, so the loop ends.
func notify(ch chan uint64, seq uint64) {
	for {
		select {
		case ch <- seq:
			return
		default:
		}
		select {
		case old := <-ch:
			seq = min(seq, old)
		default:
		}
	}
}

// Watch reports changes to pipeline's queue that reached this store from
// the stream: another replica's appends, updates and acks (and, now and
// then, this store's own, when the tail applies them before their
// acknowledgement arrives). The channel holds at most one value, the
// lowest Seq changed since it was last read. stop ends the watch.
func (s *Store) Watch(pipeline string) (<-chan uint64, func()) {
	ch := make(chan uint64, 1)
	s.tail.mu.Lock()
	s.tail.watchers[pipeline] = append(s.tail.watchers[pipeline], ch)
	s.tail.mu.Unlock()
	return ch, func() {
		s.tail.mu.Lock()
		defer s.tail.mu.Unlock()
		ws := s.tail.watchers[pipeline]
		if i := slices.Index(ws, ch); i >= 0 {
			s.tail.watchers[pipeline] = slices.Delete(ws, i, i+1)
		}
		if len(s.tail.watchers[pipeline]) == 0 {
			delete(s.tail.watchers, pipeline)
		}
	}
}

// Stable is the stream sequence up to which the tail has applied every
// message: every write with a lower Seq, whoever made it, is in the state.
func (s *Store) Stable() uint64 {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	return s.tail.pos
}

// Sync waits until the state holds every message the stream held when Sync
// was called (asked of the stream leader), whoever wrote it.
func (s *Store) Sync(ctx context.Context) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	info, err := s.streamInfo(ctx)
	if err != nil {
		return fmt.Errorf("store: sync with stream %s: %w", s.opts.stream, err)
	}
	target := info.State.LastSeq
	check := time.NewTimer(200 * time.Millisecond)
	defer check.Stop()
	last := ^uint64(0) // pos at the previous check that found more
	stuck := 0
	for {
		s.tail.mu.Lock()
		pos, progress, terr := s.tail.pos, s.tail.progress, s.tail.err
		s.tail.wanted = true
		s.tail.mu.Unlock()
		if terr != nil {
			return fmt.Errorf("store: stream %s: %w", s.opts.stream, terr)
		}
		if pos >= target {
			return nil
		}
		select {
		case <-progress:
			continue
		case <-ctx.Done():
			return fmt.Errorf("store: sync with stream %s: at %d of %d: %w", s.opts.stream, pos, target, ctx.Err())
		case <-check.C:
		}
		// The last messages may be gone (a tombstone expired): ask the
		// leader whether any message follows what the tail has applied.
		more, err := s.leaderHasAfter(ctx, pos)
		if err != nil {
			return fmt.Errorf("store: sync with stream %s: %w", s.opts.stream, err)
		}
		if !more {
			return nil
		}
		// Messages follow and the tail applies none: its consumer may be
		// on a server that went away, unnoticed until two heartbeats are
		// missed. Two checks without progress, and it is recreated.
		if pos == last {
			if stuck++; stuck == 2 {
				s.resetTail()
			}
		} else {
			last, stuck = pos, 0
		}
		check.Reset(200 * time.Millisecond)
	}
}
