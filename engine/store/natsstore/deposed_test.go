package natsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
)

// Two pollers, one deposed: its batch writes nothing. There is no global
// fence (several replicas write one stream), so what rejects the deposed
// poller is its cursor message expecting the cursor's subject sequence as
// it read it. A write that touches nothing the new poller moved still
// goes through: the fence is per subject, not global.
func TestTwoPollersOneDeposed(t *testing.T) {
	ctx := context.Background()
	o := options(cluster, 3, uniq("DEPOSED"))
	commit := func(s *natsstore.Store, cursor string, ids ...string) error {
		var b store.Batch
		for _, id := range ids {
			b.Append("poll", store.Record{ID: id, Key: "k-" + id})
		}
		b.Put("poll", "cursor/contacts", []byte(cursor))
		return s.Commit(ctx, &b)
	}
	deposed := open(t, o)
	if err := commit(deposed, "100", "e0"); err != nil {
		t.Fatal(err)
	}
	leader := open(t, o) // takes the lease over and reads the cursor
	if err := commit(leader, "200", "b1"); err != nil {
		t.Fatal(err)
	}

	// The cursor alone: rejected on its subject.
	if err := commit(deposed, "150"); !errors.Is(err, natsstore.ErrFenced) {
		t.Fatalf("deposed cursor write = %v, want ErrFenced", err)
	}
	if err := commit(leader, "300", "b2"); err != nil {
		t.Fatalf("the leader's next batch: %v", err)
	}
	// Events and cursor: the whole batch is rejected.
	var evs store.Batch
	evs.Append("poll", store.Record{ID: "a1", Key: "k-a1"})
	evs.Append("poll", store.Record{ID: "a2", Key: "k-a2"})
	evs.Put("poll", "cursor/contacts", []byte("250"))
	if err := deposed.Commit(ctx, &evs); !errors.Is(err, natsstore.ErrFenced) {
		t.Fatalf("deposed batch = %v, want ErrFenced", err)
	}
	if evs.Ops[0].Record.Seq != 0 {
		t.Fatalf("the fenced batch got seq %d", evs.Ops[0].Record.Seq)
	}
	// Nothing the leader moved: a new key of its own is not fenced.
	var own store.Batch
	own.Put("poll", "note/deposed", []byte("x"))
	if err := deposed.Commit(ctx, &own); err != nil {
		t.Fatalf("a write on an untouched subject: %v", err)
	}

	check := open(t, o)
	rs, err := check.Pending(ctx, "poll", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "e0" || ids[1] != "b1" || ids[2] != "b2" {
		t.Fatalf("queue = %v, want [e0 b1 b2]: nothing of the deposed poller's batch", ids)
	}
	if v, _ := check.Value(ctx, "poll", "cursor/contacts"); string(v) != "300" {
		t.Fatalf("cursor = %q, want the leader's 300", v)
	}
	if v, _ := check.Value(ctx, "poll", "note/deposed"); string(v) != "x" {
		t.Fatalf("untouched-subject write missing: %q", v)
	}
}
