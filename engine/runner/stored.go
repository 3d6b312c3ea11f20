package runner

import "sync/atomic"

// storedSignal tells a pipeline's deliverer that records were added to its
// queue. It is shared by all generations of a pipeline: a webhook request
// still finishing in the old generation during a reload wakes the new
// generation's deliverer.
//
// It carries the highest Seq appended through it, so a deliverer that has
// read past it skips the queue read: a group commit of N webhooks signals
// N times, and the first read already took all N records.
type storedSignal struct {
	c chan struct{} // capacity 1: signals coalesce
	// seq is the highest Seq appended through Appended.
	seq atomic.Uint64
	// force: records of unknown Seq were added (a replay, or a store that
	// does not report Seqs): the next wake reads the queue whatever seq is.
	force atomic.Bool
}

func newStoredSignal() *storedSignal { return &storedSignal{c: make(chan struct{}, 1)} }

// Appended records that records up to seq were committed (0: unknown) and
// wakes the deliverer. The Seq is recorded before the wake, so a deliverer
// woken by it sees it.
func (s *storedSignal) Appended(seq uint64) {
	if seq == 0 {
		s.force.Store(true)
	}
	for cur := s.seq.Load(); seq > cur && !s.seq.CompareAndSwap(cur, seq); cur = s.seq.Load() {
	}
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// unread says whether the queue may hold appended records beyond lastRead.
func (s *storedSignal) unread(lastRead uint64) bool {
	return s.force.Swap(false) || s.seq.Load() > lastRead
}
