package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// request is one caller's batch (or purge) waiting for the commit goroutine.
// The commit goroutine owns it from take until done is closed; the caller
// reads err (and the batch's filled Ops) only after that.
type request struct {
	batch *Batch
	purge *purge
	flush bool // checkpoint everything into bbolt (raw access, tests)
	ops   int
	// deferred batches may wait for a direct one to share its sync (see
	// holdBack); at is when it was handed over.
	deferred bool
	at       time.Time

	err  error
	done chan struct{} // one value: finish sends it, submit receives it
}

// requests are reused: a request and its channel were two allocations of
// every commit, and a webhook's event makes two commits (store, ack).
var requests = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// newRequest is a pooled request with no fields set but done.
func newRequest() *request { return requests.Get().(*request) }

// release returns r to the pool once its caller has read what it needs:
// the commit goroutine is done with it (finish ran) or never took it.
func (r *request) release() {
	*r = request{done: r.done}
	requests.Put(r)
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
	r := newRequest()
	r.batch, r.ops = b, len(b.Ops)
	return s.submit(ctx, r)
}

// CommitDeferred is Commit for a batch that may wait briefly to share the
// next direct commit's transaction and sync (see DeferredCommitter). It
// waits only while direct commits are flowing: when none committed within
// the defer delay there is nothing to share with, and it commits at once.
func (s *Bolt) CommitDeferred(ctx context.Context, b *Batch) error {
	if b == nil || len(b.Ops) == 0 {
		return s.Commit(ctx, b)
	}
	r := newRequest()
	r.batch, r.ops, r.deferred, r.at = b, len(b.Ops), true, time.Now()
	return s.submit(ctx, r)
}

// PurgeDeadLetters deletes the given dead letters of pipeline, or all of them
// if seqs is empty, and returns how many it deleted.
func (s *Bolt) PurgeDeadLetters(ctx context.Context, pipeline string, seqs ...uint64) (int, error) {
	if pipeline == "" || len(pipeline) > bolt.MaxKeySize {
		return 0, fmt.Errorf("%w: pipeline name of %d bytes", ErrInvalidOp, len(pipeline))
	}
	p := &purge{pipeline: pipeline, seqs: seqs}
	r := newRequest()
	r.purge, r.ops = p, max(1, len(seqs))
	if err := s.submit(ctx, r); err != nil {
		return 0, err
	}
	return p.deleted, nil
}

// submit hands r (from newRequest) to the commit goroutine, waits for its
// outcome and releases r.
func (s *Bolt) submit(ctx context.Context, r *request) error {
	defer r.release()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: commit not started: %w", err)
	}
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
// previous frame was being written, so one lone caller pays one sync and a
// crowd shares them; only deferred batches wait, for a direct one. Between
// groups it starts checkpoints and takes in their results.
func (s *Bolt) run() {
	defer close(s.done)
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	tick := time.NewTicker(s.opts.ckptEvery)
	defer tick.Stop()
	for {
		s.reapCheckpoint(false)
		group, closed, wait := s.take()
		if len(group) > 0 {
			if group[0].flush {
				finish(group[0], s.checkpointNow())
				continue
			}
			s.commitGroup(group)
			s.maybeCheckpoint()
			continue
		}
		if closed {
			s.closeErr = s.finalCheckpoint()
			return
		}
		var holdC <-chan time.Time
		if wait > 0 {
			hold.Reset(wait)
			holdC = hold.C
		}
		select {
		case <-s.wake:
		case <-holdC:
		case res := <-s.ckptDone:
			s.takeCheckpoint(res)
		case <-tick.C:
			s.maybeCheckpoint()
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
	for n < len(s.waiting) && (n == 0 || ops+s.waiting[n].ops <= s.opts.maxGroup && !s.waiting[n].flush) {
		ops += s.waiting[n].ops
		n++
		if s.waiting[0].flush {
			break // a flush goes alone
		}
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

// commitGroup writes group as one log frame and one sync, then shows it to
// readers. A batch that fails validation (ErrExists, ErrInvalidOp) is
// skipped without writing anything. A request that fails midway through its
// writes cannot be undone inside the group's stage, so the stage is
// dropped, that request gets its error, and the rest are staged again
// without it.
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
	if s.logErr != nil {
		for _, r := range group {
			finish(r, fmt.Errorf("store: commit refused after a failed log write (restart to recover): %w", s.logErr))
		}
		return
	}
	if err := s.overlayFull(); err != nil {
		for _, r := range group {
			finish(r, err)
		}
		return
	}
	live := group
	for len(live) > 0 {
		outs := make([]outcome, len(live))
		st := s.groupStage()
		w := newTxWriter(st, s.opts.now())
		broken, brokenErr := -1, error(nil)
		for i, r := range live {
			out, err := w.apply(r)
			if err != nil {
				broken, brokenErr = i, err
				break
			}
			outs[i] = out
		}
		ws := st.writes()
		st.close()
		if broken >= 0 {
			finish(live[broken], brokenErr)
			live = slices.Delete(slices.Clone(live), broken, broken+1)
			continue
		}
		if len(ws) > 0 && s.opts.direct {
			if err := s.commitDirect(ws); err != nil {
				for _, r := range live {
					finish(r, err)
				}
				return
			}
		} else if len(ws) > 0 {
			s.frame = encodeWrites(append(s.frame[:0], make([]byte, frameHeader)...), ws)
			err := s.log.appendFrame(s.frame)
			if cap(s.frame) > 1<<20 {
				s.frame = nil
			}
			if err != nil {
				if rerr := s.log.rollback(); rerr != nil {
					// The file's tail is unknown now: refuse to build on it.
					s.logErr = rerr
				}
				for _, r := range live {
					finish(r, fmt.Errorf("store: commit: %w", err))
				}
				return
			}
			s.syncs.Add(1)
			s.fdatasyncs.Add(1)
			s.ovMu.Lock()
			s.ov.merge(s.log.gen, ws)
			s.ovMu.Unlock()
		}
		for i, r := range live {
			outs[i].fill(r)
			finish(r, outs[i].rejected)
		}
		return
	}
}

// commitDirect writes a group straight into bbolt, one transaction, as the
// store did before the log: the benchmarks' baseline (withDirectBolt).
func (s *Bolt) commitDirect(ws []write) error {
	err := s.db.DB.Update(func(tx *bolt.Tx) error {
		a := newBoltApplier(tx)
		for i := range ws {
			if err := a.apply(&ws[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	s.syncs.Add(1)
	s.countBoltSyncs()
	return nil
}

// groupStage is the commit goroutine's stage, emptied for a new group.
func (s *Bolt) groupStage() *stage {
	if s.stage == nil {
		s.stage = newStage(s.ov, s.db.DB)
	} else {
		s.stage.reset()
	}
	return s.stage
}

// finish gives r its outcome. The commit goroutine must not touch r after:
// its caller may reuse it at once.
func finish(r *request, err error) {
	r.err = err
	r.done <- struct{}{}
}
