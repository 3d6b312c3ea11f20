package natsstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connectord/connectord/engine/store"
)

// tail follows the stream for the store's lifetime with an ordered
// consumer, applying every message to the state: other writers' appends,
// updates, acks, dead letters and keys, and this store's own (skipped when
// the commit goroutine applied them first).
type tail struct {
	cc jetstream.ConsumeContext

	mu        sync.Mutex
	pos       uint64        // last stream sequence applied
	progress  chan struct{} // closed (and replaced) when pos advances and wanted
	wanted    bool          // a Sync waits on progress
	err       error         // a message that is not the store's
	watchers  map[string][]chan uint64
	lastPrune time.Time
}

var _ store.Watcher = (*Store)(nil)

func (s *Store) startTail(from uint64) error {
	s.tail.progress = make(chan struct{})
	s.tail.watchers = map[string][]chan uint64{}
	s.tail.pos = from - 1
	s.mu.Lock()
	s.st.tailed = from - 1
	s.mu.Unlock()
	cons, err := s.js.OrderedConsumer(context.Background(), s.opts.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.layout.filter()},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    max(from, 1),
	})
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	cc, err := cons.Consume(s.tailed, jetstream.PullHeartbeat(tailHeartbeat))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	s.tail.cc = cc
	return nil
}

// tailHeartbeat is the tail's idle heartbeat (the client's minimum): an
// ordered consumer on a server that stopped is recreated elsewhere after
// two missed heartbeats, and a store catching up after a failed commit
// waits for it (the default, 15 s, stalled commits for 10 s when the stream
// leader's node stopped; TestLeaderLossGap).
const tailHeartbeat = 500 * time.Millisecond

func (s *Store) stopTail() {
	if s.tail.cc != nil {
		s.tail.cc.Stop()
	}
}

// tailed applies one message of the stream.
func (s *Store) tailed(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		return
	}
	seq := md.Sequence.Stream
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
		check.Reset(200 * time.Millisecond)
	}
}
