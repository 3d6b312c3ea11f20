package natsstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/connectord/connectord/engine/store"
)

// ErrFenced is returned by Commit when the stream changed under this store:
// another writer (a second connectord on the same stream, or a deposed one)
// committed first. Nothing of the batch was written; the store re-reads the
// stream before its next commit.
var ErrFenced = errors.New("store: another writer changed the stream")

// request is one caller's batch waiting for the commit goroutine, which owns
// it from take until done is closed.
type request struct {
	batch *store.Batch
	est   int // upper bound of the messages it adds to an atomic batch

	out  outcome
	err  error
	done chan struct{}
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
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if b == nil || len(b.Ops) == 0 {
		if s.isClosed() {
			return store.ErrClosed
		}
		return nil
	}
	r := &request{batch: b, est: estimate(b)}
	if err := s.submit(ctx, r); err != nil {
		return err
	}
	fillBatch(b, r.out)
	return nil
}

func fillBatch(b *store.Batch, out outcome) {
	for _, f := range out.fills {
		op := &b.Ops[f.op]
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

// run is the commit goroutine: a group is whatever arrived while the
// previous batch was in flight, so one lone caller pays one round trip and
// a crowd shares them.
func (s *Store) run() {
	defer close(s.done)
	for {
		group, closed := s.take()
		if len(group) > 0 {
			s.commitGroup(group)
			continue
		}
		if closed {
			return
		}
		<-s.wake
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

// commitGroup validates and folds the group into one atomic batch, publishes
// it with the expected last sequence, and on success applies it to the
// state. A failed publish fails every request of the group.
func (s *Store) commitGroup(group []*request) {
	if s.stale {
		if err := s.catchUp(); err != nil {
			for _, r := range group {
				finish(r, fmt.Errorf("store: stream %s: re-reading after a failed commit: %w", s.opts.stream, err))
			}
			return
		}
	}
	now := s.now().Round(0).UTC()
	t := newTx(s.st, now, s.limits)
	var live []*request
	for _, r := range group {
		r.out = t.apply(r.batch)
		r.out.at = now
		if r.out.rejected != nil {
			finish(r, r.out.rejected)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if n := t.messages(); n > s.opts.maxBatch {
		// Only a lone request can get here (take bounds groups by estimate).
		for _, r := range live {
			finish(r, fmt.Errorf("%w: the batch needs %d messages, over the %d of one atomic JetStream batch", store.ErrInvalidOp, n, s.opts.maxBatch))
		}
		return
	}
	if t.messages() == 0 { // only no-ops (acks of records already gone...)
		for _, r := range live {
			finish(r, nil)
		}
		return
	}
	err := s.publish(t)
	if s.stale {
		// Re-read now, so that a caller told its batch was fenced reads the
		// writes that fenced it. Failing that, the next group retries.
		_ = s.catchUp()
	}
	for _, r := range live {
		finish(r, err)
	}
}

// publish sends the overlay and, once the server has acknowledged it,
// applies exactly the messages it sent to the state.
func (s *Store) publish(t *tx) error {
	msgs, err := t.build(s.layout, s.lastSeq)
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalidOp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.commitTimeout)
	defer cancel()
	last, err := publishBatch(ctx, s.nc, msgs)
	if err != nil {
		s.stale = true
		if isWrongLastSequence(err) {
			return fmt.Errorf("%w %s (this store expected it at sequence %d): batch not written: %v", ErrFenced, s.opts.stream, s.lastSeq, err)
		}
		return fmt.Errorf("store: commit to stream %s (outcome unknown; the store re-reads the stream before its next commit): %w", s.opts.stream, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		d, err := decode(m.Data)
		if err != nil { // our own encoding: a bug, not a data error
			panic(fmt.Sprintf("natsstore: cannot decode own message %s: %v", m.Subject, err))
		}
		s.st.apply(d)
	}
	s.lastSeq = last
	s.commits.Add(1)
	return nil
}
