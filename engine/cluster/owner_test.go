package cluster

import (
	"context"
	"testing"
	"time"
)

// Three replicas split 16 partitions, no partition owned twice; when one
// leaves, the other two take all of them over within a second.
func TestOwnersSplitAndRebalance(t *testing.T) {
	ctx := context.Background()
	c := NewLocal(time.Second, nil)
	ids := []string{"r1", "r2", "r3"}
	owners := map[string]*Owner{}
	members := map[string]*Held{}
	for _, id := range ids {
		m, err := Hold(ctx, c, MemberLease(id), id, HoldOptions{})
		if err != nil {
			t.Fatal(err)
		}
		members[id] = m
		owners[id] = NewOwner(c, "p", id, DefaultPartitions, HoldOptions{})
	}
	settle := func(live []string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			done := true
			for _, id := range live {
				ok, err := owners[id].Rebalance(ctx)
				if err != nil {
					t.Fatal(err)
				}
				done = done && ok
			}
			seen := map[int]string{}
			for _, id := range live {
				for _, p := range owners[id].Owned() {
					if other, dup := seen[p]; dup {
						t.Fatalf("partition %d owned by %s and %s", p, other, id)
					}
					seen[p] = id
				}
			}
			if done && len(seen) == DefaultPartitions {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not settled: %d of %d partitions owned", len(seen), DefaultPartitions)
			}
			<-tick.C
		}
	}
	settle(ids)
	for _, id := range ids {
		if n := len(owners[id].Owned()); n < 5 || n > 6 {
			t.Fatalf("%s owns %d partitions, want 5 or 6", id, n)
		}
	}
	p := owners["r3"].Owned()[0]
	if !owners["r3"].Valid(p) || owners["r1"].Valid(p) {
		t.Fatalf("partition %d: Valid must hold for its owner only", p)
	}
	left := time.Now()
	owners["r3"].ReleaseAll(ctx)
	if err := members["r3"].Release(ctx); err != nil {
		t.Fatal(err)
	}
	settle([]string{"r1", "r2"})
	if d := time.Since(left); d > time.Second {
		t.Fatalf("rebalance after a clean leave took %v", d)
	}
	if !owners["r1"].Valid(p) && !owners["r2"].Valid(p) {
		t.Fatalf("partition %d has no owner after r3 left", p)
	}
	for _, id := range []string{"r1", "r2"} {
		owners[id].ReleaseAll(ctx)
		_ = members[id].Release(ctx)
	}
}

// A live replica that does not run the pipeline (not loaded there yet, or
// refused) is given none of its partitions: the replicas that run it
// share all of them.
func TestOwnersIgnoreReplicasNotRunningThePipeline(t *testing.T) {
	ctx := context.Background()
	c := NewLocal(time.Second, nil)
	for _, id := range []string{"r1", "r2", "r3"} {
		m, err := Hold(ctx, c, MemberLease(id), id, HoldOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Release(ctx)
	}
	// r3 runs only pipeline "q".
	a, b := NewOwner(c, "p", "r1", DefaultPartitions, HoldOptions{}), NewOwner(c, "p", "r2", DefaultPartitions, HoldOptions{})
	q := NewOwner(c, "q", "r3", DefaultPartitions, HoldOptions{})
	defer a.ReleaseAll(ctx)
	defer b.ReleaseAll(ctx)
	defer q.ReleaseAll(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for {
		okA, errA := a.Rebalance(ctx)
		okB, errB := b.Rebalance(ctx)
		okQ, errQ := q.Rebalance(ctx)
		if errA != nil || errB != nil || errQ != nil {
			t.Fatal(errA, errB, errQ)
		}
		if okA && okB && okQ && len(a.Owned())+len(b.Owned()) == DefaultPartitions {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("p: r1 owns %v, r2 owns %v: want all %d between them", a.Owned(), b.Owned(), DefaultPartitions)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	if n := len(a.Owned()); n != DefaultPartitions/2 {
		t.Errorf("r1 owns %d of p's partitions, want %d", n, DefaultPartitions/2)
	}
	if n := len(q.Owned()); n != DefaultPartitions {
		t.Errorf("r3 owns %d of q's partitions, want all %d (it alone runs q)", n, DefaultPartitions)
	}
}
