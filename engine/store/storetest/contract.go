package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/connectord/connectord/engine/store"
)

// A batch that fails (ErrExists) writes none of its appends, dead letters or
// keys, also across pipelines, and survives no restart either; the Seq it
// would have taken is not burnt.
func testRejectedBatchWritesNothing(t *testing.T, be Backend) {
	s := be.open(t, nil)
	var seed store.Batch
	seed.Put("hook", "dedupe/n1", []byte("x"))
	seq := appendOne(t, s, "hook", rec(0))
	mustCommit(t, s, &seed)
	var b store.Batch
	b.Append("hook", rec(1))
	b.Append("other", rec(2))
	b.Put("other", "cursor", []byte("c9"))
	b.Ack("hook", seq)
	b.DeadLetter("hook", store.DeadLetter{Record: store.Record{ID: "t"}, Stage: "transform"})
	b.PutIfAbsent("hook", "dedupe/n1", []byte("y"))
	if err := s.Commit(context.Background(), &b); !errors.Is(err, store.ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	for range 2 {
		if got := seqs(pending(t, s, "hook")); !slices.Equal(got, []uint64{seq}) {
			t.Fatalf("pending = %v, want [%d] (rejected batch acked or appended)", got, seq)
		}
		if names, _ := s.Pipelines(context.Background()); !slices.Equal(names, []string{"hook"}) {
			t.Fatalf("Pipelines = %v: rejected batch created a pipeline", names)
		}
		if dls, _ := s.DeadLetters(context.Background(), "hook", 0, 10); len(dls) != 0 {
			t.Fatalf("rejected batch stored dead letters: %+v", dls)
		}
		if v, _ := s.Value(context.Background(), "hook", "dedupe/n1"); string(v) != "x" {
			t.Fatalf("mark = %q, want x", v)
		}
		s = be.reopen(t, s)
	}
	if q := appendOne(t, s, "hook", rec(3)); q <= seq {
		t.Fatalf("next seq = %d, want above %d", q, seq)
	}
}

// Many concurrent single-event commits all land, in one increasing sequence,
// and share durable writes.
func testConcurrentCommitsGrouped(t *testing.T, be Backend) {
	s := be.open(t, nil)
	const emitters, each = 32, 20
	var before uint64
	if be.Syncs != nil {
		before = be.Syncs(s)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, emitters*each)
	got := make([][]uint64, emitters)
	for e := range emitters {
		wg.Go(func() {
			<-start
			for i := range each {
				var b store.Batch
				b.Append("p", store.Record{ID: fmt.Sprintf("e%d-%d", e, i), Key: fmt.Sprintf("k%d", e)})
				if err := s.Commit(context.Background(), &b); err != nil {
					errs <- err
					return
				}
				got[e] = append(got[e], b.Ops[0].Record.Seq)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("concurrent commit: %v", err)
	}
	var all []uint64
	for e, g := range got {
		if !slices.IsSorted(g) {
			t.Fatalf("emitter %d got seqs out of order: %v", e, g)
		}
		all = append(all, g...)
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != emitters*each || all[0] == 0 {
		t.Fatalf("seqs are not %d distinct positive numbers", emitters*each)
	}
	rs := pending(t, s, "p")
	if len(rs) != emitters*each || !slices.IsSortedFunc(rs, func(a, b store.Record) int { return int(a.Seq) - int(b.Seq) }) {
		t.Fatalf("pending has %d records (want %d) or is out of order", len(rs), emitters*each)
	}
	// Per key, Pending order is commit order.
	last := map[string]string{}
	for _, r := range rs {
		var e, i int
		fmt.Sscanf(r.ID, "e%d-%d", &e, &i)
		if prev, ok := last[r.Key]; ok {
			var pe, pi int
			fmt.Sscanf(prev, "e%d-%d", &pe, &pi)
			if pi >= i {
				t.Fatalf("key %s: %s before %s", r.Key, prev, r.ID)
			}
		}
		last[r.Key] = r.ID
	}
	if be.Syncs != nil {
		if n := be.Syncs(s) - before; n >= emitters*each {
			t.Fatalf("%d commits took %d durable writes: not grouped", emitters*each, n)
		}
	}
}

// A commit whose context is already done applies nothing.
func testCommitContextDone(t *testing.T, be Backend) {
	s := be.open(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b store.Batch
	b.Append("p", rec(1))
	if err := s.Commit(ctx, &b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit with done ctx = %v, want context.Canceled", err)
	}
	if st := stats(t, s, "p"); st.Queued != 0 {
		t.Fatalf("cancelled commit appended: %+v", st)
	}
	if _, err := s.Pending(ctx, "p", 0, 1); err == nil {
		t.Fatalf("Pending with done ctx succeeded")
	}
}
