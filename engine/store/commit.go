package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// request is one caller's batch (or purge) waiting for the commit goroutine.
// The commit goroutine owns it from take until done is closed; the caller
// reads err (and the batch's filled Ops) only after that.
type request struct {
	batch *Batch
	purge *purge
	ops   int
	// deferred batches may wait for a direct one to share its sync (see
	// holdBack); at is when it was handed over.
	deferred bool
	at       time.Time

	err  error
	done chan struct{}
}

type purge struct {
	pipeline string
	seqs     []uint64
	deleted  int
}

// Commit applies b atomically and durably, sharing one transaction and one
// sync with every other batch waiting at the time.
//
// If ctx ends while b is still waiting, b is withdrawn and Commit returns the
// context's error with nothing applied. Once a transaction has taken b, ctx is
// no longer consulted: Commit waits for that transaction and reports what it
// did, so a nil error always means durably stored.
//
// On success appended records' Seq and Stored, and transform-stage dead
// letters' Seq and Died, are filled in b.Ops.
func (s *Bolt) Commit(ctx context.Context, b *Batch) error {
	if b == nil || len(b.Ops) == 0 {
		if s.isClosed() {
			return ErrClosed
		}
		return nil
	}
	return s.submit(ctx, &request{batch: b, ops: len(b.Ops)})
}

// CommitDeferred is Commit for a batch that may wait briefly to share the
// next direct commit's transaction and sync (see DeferredCommitter). It
// waits only while direct commits are flowing: when none committed within
// the defer delay there is nothing to share with, and it commits at once.
func (s *Bolt) CommitDeferred(ctx context.Context, b *Batch) error {
	if b == nil || len(b.Ops) == 0 {
		return s.Commit(ctx, b)
	}
	return s.submit(ctx, &request{batch: b, ops: len(b.Ops), deferred: true, at: time.Now()})
}

// PurgeDeadLetters deletes the given dead letters of pipeline, or all of them
// if seqs is empty, and returns how many it deleted.
func (s *Bolt) PurgeDeadLetters(ctx context.Context, pipeline string, seqs ...uint64) (int, error) {
	if pipeline == "" || len(pipeline) > bolt.MaxKeySize {
		return 0, fmt.Errorf("%w: pipeline name of %d bytes", ErrInvalidOp, len(pipeline))
	}
	p := &purge{pipeline: pipeline, seqs: seqs}
	if err := s.submit(ctx, &request{purge: p, ops: max(1, len(seqs))}); err != nil {
		return 0, err
	}
	return p.deleted, nil
}

func (s *Bolt) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: commit not started: %w", err)
	}
	r.done = make(chan struct{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.waiting = append(s.waiting, r)
	s.mu.Unlock()
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

// withdraw removes r from the waiting list; false means a transaction has
// already taken it.
func (s *Bolt) withdraw(r *request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.waiting, r)
	if i < 0 {
		return false
	}
	s.waiting = slices.Delete(s.waiting, i, i+1)
	return true
}

// run is the commit goroutine. A group is whatever arrived while the
// previous transaction was being written, so one lone caller pays one sync
// and a crowd shares them; only deferred batches wait, for a direct one.
func (s *Bolt) run() {
	defer close(s.done)
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	for {
		group, closed, wait := s.take()
		if len(group) > 0 {
			s.commitGroup(group)
			continue
		}
		if closed {
			return
		}
		if wait <= 0 {
			<-s.wake
			continue
		}
		hold.Reset(wait)
		select {
		case <-s.wake:
		case <-hold.C:
		}
		hold.Stop()
	}
}

// take removes the next group from the waiting list: requests in arrival
// order up to maxGroup operations (always at least one request). When only
// deferred batches wait and may wait longer, it takes none and says how
// long.
func (s *Bolt) take() ([]*request, bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		if wait := s.holdBack(); wait > 0 {
			return nil, false, wait
		}
	}
	n, ops := 0, 0
	for n < len(s.waiting) && (n == 0 || ops+s.waiting[n].ops <= s.opts.maxGroup) {
		ops += s.waiting[n].ops
		n++
	}
	group := slices.Clone(s.waiting[:n])
	s.waiting = slices.Delete(s.waiting, 0, n)
	return group, s.closed, 0
}

// holdBack says how long the waiting batches may still wait: zero unless
// every one is deferred, a direct commit happened within the defer delay
// (so another is likely soon: the next webhook), the oldest has waited
// less than the delay and they do not fill a group. The delay adapts to
// the disk: twice the recent commit time plus a millisecond (the next
// webhook arrives one commit and one round trip after the last), at most
// maxDefer. Called with s.mu held, on the commit goroutine.
func (s *Bolt) holdBack() time.Duration {
	if len(s.waiting) == 0 {
		return 0
	}
	ops := 0
	for _, r := range s.waiting {
		if !r.deferred {
			return 0
		}
		ops += r.ops
	}
	if ops >= s.opts.maxGroup {
		return 0
	}
	delay := s.opts.deferDelay
	if delay == 0 {
		delay = min(2*s.commitTime+time.Millisecond, maxDefer)
	}
	now := time.Now()
	if now.Sub(s.lastDirect) > delay {
		return 0
	}
	return s.waiting[0].at.Add(delay).Sub(now)
}

// errAbandon rolls back a group transaction that one request broke midway.
var errAbandon = errors.New("store: abandon group transaction")

// commitGroup writes group in one transaction. A batch that fails
// validation (ErrExists, ErrInvalidOp) is skipped without writing anything.
// A request that fails midway through its writes cannot be undone inside
// the transaction, so the transaction is rolled back, that request gets its
// error, and the rest are written again without it.
func (s *Bolt) commitGroup(group []*request) {
	start := time.Now()
	direct := slices.ContainsFunc(group, func(r *request) bool { return !r.deferred })
	defer func() {
		end := time.Now()
		s.commitTime = (3*s.commitTime + end.Sub(start)) / 4
		if direct {
			s.lastDirect = end
		}
	}()
	live := group
	for len(live) > 0 {
		outs := make([]outcome, len(live))
		broken, brokenErr := -1, error(nil)
		err := s.db.Update(func(tx *bolt.Tx) error {
			w := newTxWriter(tx, s.opts.now())
			for i, r := range live {
				out, err := w.apply(r)
				if err != nil {
					broken, brokenErr = i, err
					return errAbandon
				}
				outs[i] = out
			}
			return w.flush()
		})
		if broken >= 0 {
			finish(live[broken], brokenErr)
			live = slices.Delete(slices.Clone(live), broken, broken+1)
			continue
		}
		if err != nil {
			for _, r := range live {
				finish(r, fmt.Errorf("store: commit: %w", err))
			}
			return
		}
		s.countSyncs()
		for i, r := range live {
			outs[i].fill(r)
			finish(r, outs[i].rejected)
		}
		return
	}
}

func finish(r *request, err error) {
	r.err = err
	close(r.done)
}
