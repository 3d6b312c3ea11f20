// Package clustertest is the contract every cluster.Coordinator keeps, run
// from one table on each implementation (Local, and the NATS KV one on an
// embedded server).
package clustertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/cluster"
)

// Backend makes a fresh Coordinator for one test, on the wall clock; its
// TTL should be short (under 2s) so that the expiry tests stay quick.
type Backend struct {
	New func(t testing.TB) cluster.Coordinator
}

// Run runs the contract.
func Run(t *testing.T, b Backend) {
	t.Run("Rules", func(t *testing.T) { testRules(t, b.New(t)) })
	t.Run("HandOverOnRelease", func(t *testing.T) { testHandOver(t, b.New(t)) })
	t.Run("TakeoverAfterCrash", func(t *testing.T) { testCrash(t, b.New(t)) })
	t.Run("Members", func(t *testing.T) { testMembers(t, b.New(t)) })
}

// Two holders: one wins, the other is told ErrHeld; stale revisions can
// neither renew nor release; a release frees the lease at once.
func testRules(t *testing.T, c cluster.Coordinator) {
	ctx := context.Background()
	a, err := c.Acquire(ctx, "pipe/poll", "A")
	if err != nil || a.Holder != "A" || a.Name != "pipe/poll" || a.Since.IsZero() {
		t.Fatalf("Acquire = %+v, %v", a, err)
	}
	if _, err := c.Acquire(ctx, "pipe/poll", "B"); !errors.Is(err, cluster.ErrHeld) {
		t.Fatalf("B acquired a held lease: %v", err)
	}
	again, err := c.Acquire(ctx, "pipe/poll", "A")
	if err != nil || again.Revision == a.Revision || !again.Since.Equal(a.Since) {
		t.Fatalf("the holder asking again = %+v, %v; want a renewal keeping Since", again, err)
	}
	if _, err := c.Renew(ctx, a); !errors.Is(err, cluster.ErrLost) {
		t.Fatalf("a stale revision renewed: %v", err)
	}
	if err := c.Release(ctx, a); !errors.Is(err, cluster.ErrLost) {
		t.Fatalf("a stale revision released: %v", err)
	}
	r, err := c.Renew(ctx, again)
	if err != nil || r.Revision == again.Revision {
		t.Fatalf("Renew = %+v, %v", r, err)
	}
	if _, err := c.Acquire(ctx, "pipe/other", "B"); err != nil {
		t.Fatalf("another name is independent: %v", err)
	}
	if err := c.Release(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Renew(ctx, r); !errors.Is(err, cluster.ErrLost) {
		t.Fatalf("a released lease renewed: %v", err)
	}
	b, err := c.Acquire(ctx, "pipe/poll", "B")
	if err != nil || b.Holder != "B" {
		t.Fatalf("B after the release: %+v, %v", b, err)
	}
	// Names that are not plain tokens work as well.
	if _, err := c.Acquire(ctx, "weird name/ü.part.3", "A"); err != nil {
		t.Fatal(err)
	}
}

// A clean stop hands over in well under a second, with a renewing holder
// never losing the lease meanwhile.
func testHandOver(t *testing.T, c cluster.Coordinator) {
	ctx := context.Background()
	ttl := c.TTL()
	a, err := cluster.Hold(ctx, c, "lease", "A", cluster.HoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *cluster.Held, 1)
	go func() {
		b, err := cluster.Hold(ctx, c, "lease", "B", cluster.HoldOptions{Retry: 20 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	// A renews through more than one TTL: B must still be waiting.
	select {
	case <-got:
		t.Fatal("B acquired while A was renewing")
	case <-a.Lost():
		t.Fatal("A lost a lease it was renewing")
	case <-time.After(ttl + ttl/2):
	}
	if !a.Valid() {
		t.Fatal("A's renewed lease is not valid")
	}
	released := time.Now()
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	var b *cluster.Held
	select {
	case b = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("B never acquired after the release")
	}
	d := time.Since(released)
	t.Logf("hand-over on release: %v", d)
	if d >= time.Second || d >= ttl {
		t.Fatalf("hand-over took %v, want < 1s and < TTL %v", d, ttl)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A holder that stops renewing without releasing (a crash) loses the lease
// after the TTL: the next replica takes it within TTL + 1s, not before the
// crashed holder's own validity ended.
func testCrash(t *testing.T, c cluster.Coordinator) {
	ctx := context.Background()
	ttl := c.TTL()
	crashCtx, crash := context.WithCancel(ctx)
	held, err := cluster.Hold(crashCtx, c, "crash", "C", cluster.HoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crash()
	crashed := time.Now()
	d, err := cluster.Hold(ctx, c, "crash", "D", cluster.HoldOptions{Retry: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(crashed)
	t.Logf("takeover after a crash: %v (TTL %v)", waited, ttl)
	if waited > ttl+time.Second {
		t.Fatalf("takeover took %v, want ≤ TTL + 1s", waited)
	}
	if waited < ttl/2 {
		t.Fatalf("takeover after %v: the lease was taken before it expired", waited)
	}
	if held.Valid() {
		t.Fatal("the crashed holder still thinks it may work")
	}
	if err := d.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// Member leases list the live replicas; a released one is gone.
func testMembers(t *testing.T, c cluster.Coordinator) {
	ctx := context.Background()
	if _, ok := c.(cluster.Lister); !ok {
		t.Skip("not a Lister")
	}
	var hs []*cluster.Held
	for _, id := range []string{"r2", "r1", "r3"} {
		h, err := cluster.Hold(ctx, c, cluster.MemberLease(id), id, cluster.HoldOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	if _, err := c.Acquire(ctx, "not-a-member", "r1"); err != nil {
		t.Fatal(err)
	}
	ms, err := cluster.Members(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Holder != "r1" || ms[2].Holder != "r3" || ms[1].Since.IsZero() {
		t.Fatalf("Members = %+v", ms)
	}
	if err := hs[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err = cluster.Members(ctx, c)
	if err != nil || len(ms) != 2 {
		t.Fatalf("after r2 left: %+v, %v", ms, err)
	}
	for _, h := range hs[1:] {
		if err := h.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
