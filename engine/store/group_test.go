package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// lineUp holds one transaction open with first in it, queues the others
// behind it in order, and returns their results once the gate opens.
func lineUp(t *testing.T, s *Bolt, g *txGate, first *Batch, others []*Batch) (errs []error, firstErr error) {
	t.Helper()
	g.hold()
	firstDone := make(chan error, 1)
	go func() { firstDone <- s.Commit(context.Background(), first) }()
	<-g.entered
	errs = make([]error, len(others))
	var wg sync.WaitGroup
	for i, b := range others {
		wg.Go(func() { errs[i] = s.Commit(context.Background(), b) })
		waitFor(t, "batch to queue", func() bool { return s.waitingLen() == i+1 })
	}
	g.open()
	wg.Wait()
	return errs, <-firstDone
}

func TestGroupCommitSharesOneTransaction(t *testing.T) {
	g := newTxGate()
	s, _ := openTemp(t, WithClock(g.now))
	var first Batch
	first.Append("p", rec(0))
	others := make([]*Batch, 10)
	for i := range others {
		others[i] = &Batch{}
		others[i].Append("p", rec(i+1))
	}
	before := s.Syncs()
	errs, firstErr := lineUp(t, s, g, &first, others)
	if firstErr != nil || errors.Join(errs...) != nil {
		t.Fatalf("commits failed: %v %v", firstErr, errs)
	}
	if got := s.Syncs() - before; got != 2 {
		t.Fatalf("11 commits took %d transactions, want 2 (one held, then one group)", got)
	}
	if st := stats(t, s, "p"); st.Queued != 11 {
		t.Fatalf("queued = %d, want 11", st.Queued)
	}
}

func TestGroupCommitCap(t *testing.T) {
	g := newTxGate()
	s, _ := openTemp(t, WithClock(g.now), WithMaxGroup(4))
	var first Batch
	first.Append("p", rec(0))
	others := make([]*Batch, 10)
	for i := range others {
		others[i] = &Batch{}
		others[i].Append("p", rec(i+1))
	}
	// A batch larger than the cap still commits, alone.
	big := &Batch{}
	for i := range 6 {
		big.Append("p", rec(100+i))
	}
	others = append(others, big)
	before := s.Syncs()
	errs, firstErr := lineUp(t, s, g, &first, others)
	if firstErr != nil || errors.Join(errs...) != nil {
		t.Fatalf("commits failed: %v %v", firstErr, errs)
	}
	// held one, then 4+4+2 single-op batches, then the big one.
	if got := s.Syncs() - before; got != 5 {
		t.Fatalf("took %d transactions, want 5", got)
	}
	if st := stats(t, s, "p"); st.Queued != 17 {
		t.Fatalf("queued = %d, want 17", st.Queued)
	}
}

// A batch that breaks midway (here: updating a record whose stored value is
// corrupt) must not take the rest of its group down with it.
func TestGroupSurvivesBrokenBatch(t *testing.T) {
	g := newTxGate()
	s, _ := openTemp(t, WithClock(g.now))
	seq := appendOne(t, s, "p", rec(1))
	if err := s.db.Update(func(tx *bolt.Tx) error {
		p, _ := readPipeline(tx, "p")
		return p.queue.Put(seqKey(seq), []byte("garbage"))
	}); err != nil {
		t.Fatal(err)
	}
	var first Batch
	first.Put("p", "first", []byte("1"))
	before := &Batch{}
	before.Append("p", rec(2))
	broken := &Batch{}
	broken.Put("p", "broken", []byte("x"))
	broken.Update("p", Record{Seq: seq, Attempts: 1})
	after := &Batch{}
	after.Append("p", rec(3))
	errs, firstErr := lineUp(t, s, g, &first, []*Batch{before, broken, after})
	if firstErr != nil || errs[0] != nil || errs[2] != nil {
		t.Fatalf("healthy batches failed: %v %v", firstErr, errs)
	}
	if !errors.Is(errs[1], errCorrupt) {
		t.Fatalf("broken batch err = %v, want errCorrupt", errs[1])
	}
	if _, err := s.Value(context.Background(), "p", "broken"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("broken batch half-applied: %v", err)
	}
	for _, b := range []*Batch{before, after} {
		r, err := s.Get(context.Background(), "p", b.Ops[0].Record.Seq)
		if err != nil || r.ID != b.Ops[0].Record.ID {
			t.Fatalf("healthy append %d: %+v, %v", b.Ops[0].Record.Seq, r, err)
		}
	}
	var ack Batch
	ack.Ack("p", seq) // Ack needs no decoding: the way out for a corrupt record
	mustCommit(t, s, &ack)
	if st := stats(t, s, "p"); st.Queued != 2 {
		t.Fatalf("queued = %d, want 2", st.Queued)
	}
}

func TestCommitContext(t *testing.T) {
	g := newTxGate()
	s, _ := openTemp(t, WithClock(g.now))
	g.hold()
	held := &Batch{}
	held.Append("p", rec(1))
	heldCtx, cancelHeld := context.WithCancel(context.Background())
	heldErr := make(chan error, 1)
	go func() { heldErr <- s.Commit(heldCtx, held) }()
	<-g.entered

	// Waiting batch: cancelling withdraws it, nothing is written.
	waiting := &Batch{}
	waiting.Append("p", rec(2))
	ctx, cancel := context.WithCancel(context.Background())
	waitErr := make(chan error, 1)
	go func() { waitErr <- s.Commit(ctx, waiting) }()
	waitFor(t, "batch to queue", func() bool { return s.waitingLen() == 1 })
	cancel()
	if err := <-waitErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("withdrawn commit err = %v, want context.Canceled", err)
	}
	// Batch already in a transaction: cancelling does not change its fate.
	cancelHeld()
	g.open()
	if err := <-heldErr; err != nil {
		t.Fatalf("taken commit err = %v, want nil (it was written)", err)
	}
	if got := seqs(pending(t, s, "p")); len(got) != 1 || got[0] != held.Ops[0].Record.Seq {
		t.Fatalf("pending = %v, want only the held batch", got)
	}
	if err := s.Commit(ctx, waiting); !errors.Is(err, context.Canceled) {
		t.Fatalf("commit with done ctx = %v", err)
	}
}

// Close commits what was already handed over before it closes the file.
func TestCloseDrainsWaiting(t *testing.T) {
	g := newTxGate()
	s, path := openTemp(t, WithClock(g.now))
	var first Batch
	first.Append("p", rec(0))
	g.hold()
	errs := make(chan error, 6)
	go func() { errs <- s.Commit(context.Background(), &first) }()
	<-g.entered
	for i := range 5 {
		go func() {
			var b Batch
			b.Append("p", rec(i+1))
			errs <- s.Commit(context.Background(), &b)
		}()
	}
	waitFor(t, "batches to queue", func() bool { return s.waitingLen() == 5 })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitFor(t, "Close to start", s.isClosed)
	g.open()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatalf("commit before Close failed: %v", err)
		}
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st := stats(t, s2, "p"); st.Queued != 6 {
		t.Fatalf("queued = %d, want 6", st.Queued)
	}
}

// PutIfAbsent sees keys that earlier batches of the same transaction wrote,
// empty values included.
func TestPutIfAbsentWithinGroup(t *testing.T) {
	g := newTxGate()
	s, _ := openTemp(t, WithClock(g.now))
	var first Batch
	first.Put("p", "unrelated", nil)
	setter := &Batch{}
	setter.Put("p", "seen/1", nil)
	dup := &Batch{}
	dup.PutIfAbsent("p", "seen/1", []byte("again"))
	dup.Append("p", rec(1))
	errs, firstErr := lineUp(t, s, g, &first, []*Batch{setter, dup})
	if firstErr != nil || errs[0] != nil {
		t.Fatalf("commits failed: %v %v", firstErr, errs)
	}
	if !errors.Is(errs[1], ErrExists) {
		t.Fatalf("PutIfAbsent after same-transaction Put: err = %v, want ErrExists", errs[1])
	}
	if v, err := s.Value(context.Background(), "p", "seen/1"); err != nil || len(v) != 0 {
		t.Fatalf("Value = %q, %v; want empty", v, err)
	}
	if st := stats(t, s, "p"); st.Queued != 0 {
		t.Fatalf("rejected batch appended: %+v", st)
	}
}

// A commit is one log frame and one fdatasync (bbolt's two, and its
// growth syncs, come only with checkpoints).
func TestFdatasyncsCountOnePerCommit(t *testing.T) {
	s, _ := openTemp(t)
	syncs, fsyncs := s.Syncs(), s.Fdatasyncs()
	for i := range 3 {
		appendOne(t, s, "p", Record{ID: fmt.Sprint(i), Body: []byte(`{}`)})
	}
	commits := s.Syncs() - syncs
	if got := s.Fdatasyncs() - fsyncs; commits != 3 || got != commits {
		t.Fatalf("%d commits, %d fdatasyncs; want 3 commits and 3 syncs", commits, got)
	}
}

// ackBatch is a deferred-style batch: one ack.
func ackBatch(seq uint64) *Batch {
	var b Batch
	b.Ack("p", seq)
	return &b
}

func TestDeferredCommitRidesWithTheNextDirectCommit(t *testing.T) {
	// An hour's delay: the deferred batch can only be committed by the
	// direct one (or Close), whatever the machine's speed.
	s, _ := openTemp(t, WithDeferDelay(time.Hour))
	seq := appendOne(t, s, "p", Record{ID: "a", Body: []byte(`{}`)}) // a direct commit just happened
	before := s.Syncs()
	done := make(chan error, 1)
	go func() { done <- s.CommitDeferred(context.Background(), ackBatch(seq)) }()
	waitFor(t, "the deferred batch to wait", func() bool { return s.waitingLen() == 1 })
	select {
	case err := <-done:
		t.Fatalf("deferred commit returned (%v) before a direct one came", err)
	default:
	}
	appendOne(t, s, "p", Record{ID: "b", Body: []byte(`{}`)})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.Syncs() - before; got != 1 {
		t.Fatalf("%d commits for one direct and one deferred batch, want 1 shared", got)
	}
	if got := seqs(pending(t, s, "p")); len(got) != 1 || got[0] == seq {
		t.Fatalf("queue %v, want only the second record", got)
	}
}

func TestDeferredCommitAloneDoesNotWait(t *testing.T) {
	// No direct commit within the delay: nothing to share, so it commits
	// at once (the test would hang for an hour otherwise).
	s, _ := openTemp(t, WithDeferDelay(time.Hour))
	var b Batch
	b.Put("p", "k", []byte("v"))
	if err := s.CommitDeferred(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Value(context.Background(), "p", "k"); err != nil || string(v) != "v" {
		t.Fatalf("value %q, %v", v, err)
	}
}

func TestCloseCommitsAHeldDeferredBatch(t *testing.T) {
	s, path := openTemp(t, WithDeferDelay(time.Hour))
	seq := appendOne(t, s, "p", Record{ID: "a", Body: []byte(`{}`)})
	done := make(chan error, 1)
	go func() { done <- s.CommitDeferred(context.Background(), ackBatch(seq)) }()
	waitFor(t, "the deferred batch to wait", func() bool { return s.waitingLen() == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("held batch: %v, want committed by Close", err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := pending(t, s2, "p"); len(got) != 0 {
		t.Fatalf("queue %v after Close, want the ack applied", seqs(got))
	}
}

func TestDeferredCommitWithdrawnWhenItsContextEnds(t *testing.T) {
	s, _ := openTemp(t, WithDeferDelay(time.Hour))
	seq := appendOne(t, s, "p", Record{ID: "a", Body: []byte(`{}`)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.CommitDeferred(ctx, ackBatch(seq)) }()
	waitFor(t, "the deferred batch to wait", func() bool { return s.waitingLen() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if got := pending(t, s, "p"); len(got) != 1 {
		t.Fatalf("queue %v, want the record still queued", seqs(got))
	}
}
