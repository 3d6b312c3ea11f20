package natsstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/connectord/connectord/engine/internal/natsretry"
	"github.com/connectord/connectord/engine/store"
)

// ErrFenced is returned by Commit when another writer changed what the
// batch replaces: a key (a poller's cursor moved by the replica that took
// its lease over) or a queued record. Nothing of the batch was written;
// the store has caught up with the stream when Commit returns. A batch
// that writes no key is tried again once caught up (up to maxTries), so
// an append or an ack that merely shared an atomic batch with a fenced
// write is not failed for it.
var ErrFenced = errors.New("store: another writer changed the stream")

// request is one caller's batch waiting for the commit goroutine, which owns
// it from take until done is closed.
type request struct {
	batch *store.Batch
	est   int // upper bound of the messages it adds to an atomic batch

	out   outcome
	err   error
	tries int // fenced attempts so far
	done  chan struct{}
}

// maxTries bounds the attempts of a batch that is fenced again and again.
const maxTries = 5

// fenceBackoff is the pause before a fenced batch's try number tries: the
// write that fenced it may still be a proposal on the stream leader (it is
// checked against proposals, but the stream's last sequence counts only
// what is applied), so catching up at once could miss it, and the batch
// was fenced by it again — three times in a row once on a loaded machine
// (TestPutIfAbsentAcrossWriters). 10, 20, 40, 80 ms.
func fenceBackoff(tries int) time.Duration { return 10 * time.Millisecond << (tries - 1) }

// retryable reports whether a fenced request may simply be tried again
// once the store has caught up: it writes no key (Put, Delete), whose
// expectation is the fence itself. A PutIfAbsent is re-validated (and
// fails ErrExists if the other writer set the key).
func (r *request) retryable() bool {
	for i := range r.batch.Ops {
		if k := r.batch.Ops[i].Kind; k == store.OpPut || k == store.OpDelete {
			return false
		}
	}
	return r.tries < maxTries
}

// estimate bounds the messages b can add: one per op, two for a dead letter
// (its own and the queue entry it removes), one Seq counter per pipeline.
func estimate(b *store.Batch) int {
	n := len(b.Ops)
	var pipes []string
	for i := range b.Ops {
		op := &b.Ops[i]
		if op.Kind == store.OpDeadLetter {
			n++
		}
		if !slices.Contains(pipes, op.Pipeline) {
			pipes = append(pipes, op.Pipeline)
		}
	}
	return n + len(pipes)
}

// Commit applies b atomically and durably: its writes, and those of every
// other batch waiting at the time, go to the stream as one atomic batch
// publish, acknowledged once the stream's replicas have stored it.
//
// If ctx ends while b is still waiting, b is withdrawn and Commit returns the
// context's error with nothing applied. Once a group has taken b, Commit
// waits for the server's answer, bounded by the commit timeout. An error
// other than ErrExists, ErrInvalidOp and ErrFenced (a timeout, a lost
// connection) leaves the outcome unknown: the batch may have been stored,
// and the store re-reads the stream before its next commit.
//
// "No responders" is the one failure whose outcome is known: no stream
// server took the batch (its leader is being elected, or a new stream's
// interest has not reached this server yet), so nothing of it was stored
// and Commit tries again, for up to noResponderWait.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if b == nil || len(b.Ops) == 0 {
		if s.isClosed() {
			return store.ErrClosed
		}
		return nil
	}
	return natsretry.Unanswered(ctx, noResponderWait, time.Second, func() error {
		r := &request{batch: b, est: estimate(b)}
		if err := s.submit(ctx, r); err != nil {
			return err
		}
		fillBatch(b, r.out)
		return nil
	})
}

// noResponderWait bounds Commit's retries while no stream server answers.
const noResponderWait = 10 * time.Second

func fillBatch(b *store.Batch, out outcome) {
	for _, f := range out.fills {
		op := &b.Ops[f.op]
		if f.c != nil && f.seq == 0 {
			continue // not acknowledged
		}
		if !f.dead {
			op.Record.Seq, op.Record.Stored = f.seq, out.at
			continue
		}
		if f.seq != 0 {
			op.Dead.Seq = f.seq
		}
		if op.Dead.Died.IsZero() {
			op.Dead.Died = out.at
		}
	}
}

// PurgeDeadLetters deletes the given dead letters of pipeline, or all of them
// if seqs is empty, in atomic batches of up to the batch limit each.
func (s *Store) PurgeDeadLetters(ctx context.Context, pipeline string, seqs ...uint64) (int, error) {
	if pipeline == "" || len(pipeline) > maxPipelineName {
		return 0, fmt.Errorf("%w: pipeline name of %d bytes", store.ErrInvalidOp, len(pipeline))
	}
	if len(seqs) == 0 {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return 0, store.ErrClosed
		}
		if p := s.st.pipes[pipeline]; p != nil {
			p.dead.Ascend(func(d *store.DeadLetter) bool {
				seqs = append(seqs, d.Seq)
				return true
			})
		}
		s.mu.RUnlock()
	}
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	deleted := 0
	for chunk := range slices.Chunk(seqs, s.opts.maxBatch-1) {
		var b store.Batch
		for _, seq := range chunk {
			b.DropDeadLetter(pipeline, seq)
		}
		r := &request{batch: &b, est: estimate(&b)}
		if err := s.submit(ctx, r); err != nil {
			return deleted, err
		}
		deleted += r.out.dropped
	}
	return deleted, nil
}

func (s *Store) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: commit not started: %w", err)
	}
	r.done = make(chan struct{})
	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return store.ErrClosed
	}
	s.waiting = append(s.waiting, r)
	s.qmu.Unlock()
	s.signal()

	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if s.withdraw(r) {
			return fmt.Errorf("store: commit abandoned: %w", ctx.Err())
		}
		<-r.done
		return r.err
	}
}

func (s *Store) withdraw(r *request) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	i := slices.Index(s.waiting, r)
	if i < 0 {
		return false
	}
	s.waiting = slices.Delete(s.waiting, i, i+1)
	return true
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// flight is a batch published and not yet acknowledged.
type flight struct {
	t        *tx
	msgs     []*nats.Msg
	live     []*request
	reply    chan *nats.Msg
	deadline time.Time
	cut      bool // deadline shortened by a leader change or reconnect
}

// run is the commit goroutine. A group is whatever arrived while the
// batches before it were being published, so one lone caller pays one round
// trip and a crowd shares them. Up to maxInFlight batches are pipelined:
// each is validated against the overlay of those ahead of it, and sets no
// subject expectation on what they write (see build). The state changes
// only by acknowledged batches and the tail, so it never holds a write the
// stream does not; after a failure the store catches up (Sync) before the
// next batch.
func (s *Store) run() {
	defer close(s.done)
	var inflight []*flight
	for {
		for len(inflight) < s.maxInFlight() && !(s.stale && len(inflight) > 0) {
			group, _ := s.take()
			if len(group) == 0 {
				break
			}
			if f := s.launch(group, inflight); f != nil {
				inflight = append(inflight, f)
			}
		}
		if len(inflight) == 0 && len(s.unsettled) > 0 {
			// A group that launched nothing left requests to validate
			// again: what they waited for was not written.
			s.unsettled = s.requeue(s.unsettled)
			continue
		}
		if len(inflight) == 0 {
			s.qmu.Lock()
			idle, closed := len(s.waiting) == 0, s.qclosed
			s.qmu.Unlock()
			if idle && closed {
				return
			}
			if idle {
				select {
				case <-s.wake:
				case <-s.failover.ch: // nothing in flight to cut
				}
			}
			continue
		}
		oldest := inflight[0]
		timer := time.NewTimer(time.Until(oldest.deadline))
		wake := s.wake
		if len(inflight) >= s.maxInFlight() || s.stale {
			wake = nil // no room to launch more: wait for the oldest
		}
		select {
		case m := <-oldest.reply:
			timer.Stop()
			s.land(oldest, m, nil)
			inflight = s.next(inflight)
		case <-timer.C:
			why := fmt.Sprintf("no acknowledgement within %s", s.opts.commitTimeout)
			if oldest.cut {
				why = fmt.Sprintf("no acknowledgement within %s of a stream leader change or reconnect", failoverGrace)
			}
			s.land(oldest, nil, errors.New(why))
			inflight = s.next(inflight)
		case <-wake:
			timer.Stop()
		case <-s.failover.ch:
			timer.Stop()
			cut(inflight, min(failoverGrace, s.opts.commitTimeout))
		}
	}
}

// maxInFlight bounds the batches published and not yet acknowledged (the
// server allows 50 atomic batches in flight per stream).
const maxInFlight = 4

func (s *Store) maxInFlight() int { return maxInFlight }

// next drops the landed oldest flight; the one after it is now built on the
// state itself.
func (s *Store) next(inflight []*flight) []*flight {
	s.unsettled = s.requeue(s.unsettled)
	inflight = inflight[1:]
	if len(inflight) > 0 {
		inflight[0].t.base = nil
	}
	if len(inflight) == 0 && s.stale {
		if tries := maxTriesOf(s.retry); tries > 0 {
			// Blocks the commit goroutine, as the catch-up does: both
			// happen only when writers conflict.
			time.Sleep(fenceBackoff(tries))
		}
		// Catch up now, so that a caller told its batch was fenced reads
		// the writes that fenced it. Failing that, the next group retries.
		_ = s.catchUp()
	}
	if len(inflight) == 0 {
		for _, r := range s.held {
			finish(r, r.err)
		}
		s.held = nil
		s.retry = s.requeue(s.retry)
	}
	return inflight
}

func maxTriesOf(rs []*request) int {
	n := 0
	for _, r := range rs {
		n = max(n, r.tries)
	}
	return n
}

// requeue puts rs ahead of the requests waiting, and returns rs emptied.
func (s *Store) requeue(rs []*request) []*request {
	if len(rs) == 0 {
		return rs
	}
	s.qmu.Lock()
	s.waiting = append(slices.Clone(rs), s.waiting...)
	s.qmu.Unlock()
	return rs[:0]
}

// launch validates and folds the group into one atomic batch and publishes
// it, expecting the stream's last sequence the batches in flight will leave.
// Requests that fail validation, or that need no message, finish at once.
func (s *Store) launch(group []*request, inflight []*flight) *flight {
	if s.stale && len(inflight) == 0 {
		if err := s.catchUp(); err != nil {
			for _, r := range group {
				finish(r, fmt.Errorf("store: stream %s: re-reading after a failed commit: %w", s.opts.stream, err))
			}
			return nil
		}
	}
	var base *tx
	if n := len(inflight); n > 0 {
		base = inflight[n-1].t
	}
	now := s.now().Round(0).UTC()
	t := newTx(s.st, base, now, s.limits)
	t.seen = &s.seen
	// The tail writes the state too: the overlay reads it read-locked.
	s.mu.RLock()
	locked := true
	unlock := func() {
		if locked {
			locked = false
			s.mu.RUnlock()
		}
	}
	defer unlock()
	var live []*request
	for _, r := range group {
		r.out = t.apply(r.batch)
		r.out.at = now
		if errors.Is(r.out.rejected, errUnsettled) {
			s.unsettled = append(s.unsettled, r) // again once the next flight lands
			continue
		}
		if r.out.rejected != nil {
			finish(r, r.out.rejected)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return nil
	}
	n := t.messages()
	if n > s.opts.maxBatch {
		// Only a lone request can get here (take bounds groups by estimate).
		for _, r := range live {
			finish(r, fmt.Errorf("%w: the batch needs %d messages, over the %d of one atomic JetStream batch", store.ErrInvalidOp, n, s.opts.maxBatch))
		}
		return nil
	}
	if n == 0 { // only no-ops (acks of records already gone...)
		for _, r := range live {
			finish(r, nil)
		}
		return nil
	}
	msgs, err := t.build(s.layout)
	unlock()
	if err != nil {
		for _, r := range live {
			finish(r, fmt.Errorf("%w: %v", store.ErrInvalidOp, err))
		}
		return nil
	}
	f := &flight{t: t, msgs: msgs, live: live, deadline: time.Now().Add(s.opts.commitTimeout)}
	if s.publishHook != nil {
		err = s.publishHook()
	}
	if err == nil {
		f.reply, err = s.replies.send(s.nc, msgs)
	}
	if err != nil {
		s.stale = true
		for _, r := range live {
			finish(r, fmt.Errorf("store: commit to stream %s (outcome unknown; the store re-reads the stream before its next commit): %w", s.opts.stream, err))
		}
		return nil
	}
	return f
}

// land reports the oldest flight's outcome to its callers and, if it was
// stored, applies exactly its messages: an atomic batch's messages get
// consecutive stream sequences (the server stores the batch as one entry),
// so message i of a batch acknowledged at last is at last-len+1+i, and a
// new record's Seq is that.
func (s *Store) land(f *flight, m *nats.Msg, err error) {
	s.replies.forget(f.reply)
	var last uint64
	if err == nil {
		last, err = parseAck(m, f.msgs)
	}
	fenced := false
	switch {
	case err != nil && isWrongLastSequence(err):
		s.stale, fenced = true, true
		err = fmt.Errorf("%w %s: batch not written: %v", ErrFenced, s.opts.stream, err)
	case err != nil:
		s.stale = true
		err = fmt.Errorf("store: commit to stream %s (outcome unknown; the store re-reads the stream before its next commit): %w", s.opts.stream, err)
	default:
		first := last - uint64(len(f.msgs)) + 1
		at := time.Now()
		s.mu.Lock()
		for i, m := range f.msgs {
			d, derr := decode(m.Data)
			if derr != nil { // our own encoding: a bug, not a data error
				s.mu.Unlock()
				panic(fmt.Sprintf("natsstore: cannot decode own message %s: %v", m.Subject, derr))
			}
			s.st.applyAt(m.Subject, first+uint64(i), &d, at)
			switch {
			case d.kind == kindKV:
				s.seen.read(m.Subject, first+uint64(i))
			case d.kind == kindGone && d.gone == kindKV:
				s.seen.forget(m.Subject)
			}
		}
		s.mu.Unlock()
		for _, r := range f.live {
			for i := range r.out.fills {
				if c := r.out.fills[i].c; c != nil && c.msg >= 0 {
					r.out.fills[i].seq = first + uint64(c.msg)
				}
			}
		}
		s.commits.Add(1)
	}
	for _, r := range f.live {
		switch {
		case fenced && r.retryable():
			r.tries++
			s.retry = append(s.retry, r)
		case s.stale:
			// Told once the store has caught up (see next).
			r.err = err
			s.held = append(s.held, r)
		default:
			finish(r, err)
		}
	}
}

// take removes the next group from the waiting list: requests in arrival
// order whose estimates fit one atomic batch (always at least one).
func (s *Store) take() ([]*request, bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	n, est := 0, 0
	for n < len(s.waiting) && (n == 0 || est+s.waiting[n].est <= s.opts.maxBatch) {
		est += s.waiting[n].est
		n++
	}
	group := slices.Clone(s.waiting[:n])
	s.waiting = slices.Delete(s.waiting, 0, n)
	return group, s.qclosed
}

func finish(r *request, err error) {
	r.err = err
	close(r.done)
}
