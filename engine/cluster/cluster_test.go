package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Local.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLocalLeaseRules(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := NewLocal(10*time.Second, clk.now)

	a, err := c.Acquire(ctx, "p/poll", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire(ctx, "p/poll", "B"); !errors.Is(err, ErrHeld) {
		t.Fatalf("B acquired a held lease: %v", err)
	}
	clk.add(9 * time.Second)
	a2, err := c.Renew(ctx, a)
	if err != nil || a2.Revision == a.Revision || !a2.Since.Equal(a.Since) {
		t.Fatalf("renew = %+v, %v", a2, err)
	}
	if _, err := c.Renew(ctx, a); !errors.Is(err, ErrLost) {
		t.Fatalf("a stale revision renewed: %v", err)
	}
	clk.add(9 * time.Second) // still inside the renewed TTL
	if _, err := c.Acquire(ctx, "p/poll", "B"); !errors.Is(err, ErrHeld) {
		t.Fatalf("B took a renewed lease: %v", err)
	}
	clk.add(2 * time.Second) // expired
	b, err := c.Acquire(ctx, "p/poll", "B")
	if err != nil || b.Holder != "B" {
		t.Fatalf("B after expiry: %+v, %v", b, err)
	}
	if _, err := c.Renew(ctx, a2); !errors.Is(err, ErrLost) {
		t.Fatalf("the deposed holder renewed: %v", err)
	}
	if err := c.Release(ctx, a2); !errors.Is(err, ErrLost) {
		t.Fatalf("the deposed holder released B's lease: %v", err)
	}
	if err := c.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire(ctx, "p/poll", "A"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// A clean stop hands the lease over at once; a crash (no release, no
// renew) only after the TTL; the deposed holder's Valid turns false before
// the TTL runs out.
func TestHoldHandOverAndCrash(t *testing.T) {
	const ttl = 300 * time.Millisecond
	c := NewLocal(ttl, nil)
	ctx := context.Background()

	a, err := Hold(ctx, c, "lease", "A", HoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Valid() {
		t.Fatal("a fresh lease is not valid")
	}
	got := make(chan *Held, 1)
	go func() {
		b, err := Hold(ctx, c, "lease", "B", HoldOptions{Retry: 10 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	// A keeps renewing: B must still be waiting after several TTLs.
	deadline := time.Now().Add(3 * ttl)
	for time.Now().Before(deadline) {
		select {
		case <-got:
			t.Fatal("B acquired while A was renewing")
		case <-time.After(20 * time.Millisecond):
		}
	}
	released := time.Now()
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Valid() {
		t.Fatal("released lease still valid")
	}
	var b *Held
	select {
	case b = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("B never acquired after the release")
	}
	if d := time.Since(released); d >= ttl {
		t.Fatalf("hand-over took %v, want < TTL %v (no waiting for expiry)", d, ttl)
	}

	// Crash: B's process stops renewing without releasing.
	crashCtx, crash := context.WithCancel(ctx)
	cHeld, err := Hold(crashCtx, c, "other", "C", HoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crash()
	crashed := time.Now()
	d, err := Hold(ctx, c, "other", "D", HoldOptions{Retry: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(crashed)
	if waited > 3*ttl {
		t.Fatalf("takeover after a crash took %v, want about one TTL (%v)", waited, ttl)
	}
	// The crashed holder's own deadline has passed by the time D holds.
	if cHeld.Valid() {
		t.Fatal("the crashed holder still thinks it may work")
	}
	for _, h := range []*Held{b, d} {
		if err := h.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPartitionIsStableAndInRange(t *testing.T) {
	for i := range 1000 {
		key := fmt.Sprintf("conversations/%d", i)
		p := Partition(key, DefaultPartitions)
		if p < 0 || p >= DefaultPartitions || p != Partition(key, DefaultPartitions) {
			t.Fatalf("Partition(%q) = %d", key, p)
		}
	}
}

func TestAssignBalancedDeterministicAndStable(t *testing.T) {
	const n = DefaultPartitions
	check := func(m map[string][]int, replicas int) {
		t.Helper()
		seen := map[int]string{}
		for r, ps := range m {
			if len(ps) < n/replicas || len(ps) > (n+replicas-1)/replicas {
				t.Errorf("%s owns %d partitions, want %d..%d", r, len(ps), n/replicas, (n+replicas-1)/replicas)
			}
			for _, p := range ps {
				if other, dup := seen[p]; dup {
					t.Errorf("partition %d owned by %s and %s", p, other, r)
				}
				seen[p] = r
			}
		}
		if len(seen) != n {
			t.Errorf("%d of %d partitions assigned", len(seen), n)
		}
	}
	three := Assign(n, []string{"r1", "r2", "r3"})
	check(three, 3)
	if fmt.Sprint(three) != fmt.Sprint(Assign(n, []string{"r3", "r1", "r2", "r1"})) {
		t.Fatal("assignment depends on the order of the members")
	}
	two := Assign(n, []string{"r1", "r3"})
	check(two, 2)
	// When r2 leaves, r1 and r3 keep most of what they had.
	kept := 0
	for _, r := range []string{"r1", "r3"} {
		had := map[int]bool{}
		for _, p := range three[r] {
			had[p] = true
		}
		for _, p := range two[r] {
			if had[p] {
				kept++
			}
		}
	}
	if moved := len(three["r1"]) + len(three["r3"]) - kept; moved > 2 {
		t.Fatalf("%d partitions moved between the replicas that stayed, want ≤ 2", moved)
	}
	if len(Assign(n, nil)) != 0 {
		t.Fatal("no replicas: no owners")
	}
}

// stuckRenew is a coordinator whose renewals hang, ignoring their context,
// as a KV bucket's do while it elects a leader.
type stuckRenew struct {
	*Local
	unblock chan struct{}
	calls   chan struct{}
}

func (c *stuckRenew) Renew(ctx context.Context, l Lease) (Lease, error) {
	select {
	case c.calls <- struct{}{}:
	default:
	}
	<-c.unblock
	return c.Local.Renew(context.Background(), l)
}

// A renew that hangs must not hold Lost back: the lease is lost when its
// validity (TTL − margin from the last successful renew's start) runs out,
// and Valid says no from that moment.
func TestHeldLostAtValidityEndWhileRenewHangs(t *testing.T) {
	const ttl = 600 * time.Millisecond
	c := &stuckRenew{Local: NewLocal(ttl, nil), unblock: make(chan struct{}), calls: make(chan struct{}, 1)}
	defer close(c.unblock)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := time.Now()
	h, err := TryHold(ctx, c, "p/poll", "A", HoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	validEnd := before.Add(ttl - ttl/5) // the earliest the validity can end
	select {
	case <-c.calls:
	case <-time.After(5 * ttl):
		t.Fatal("no renew was attempted")
	}
	select {
	case <-h.Lost():
		if at := time.Now(); at.Before(validEnd) {
			t.Fatalf("lost %v before its validity could have ended", validEnd.Sub(at))
		}
		if h.Valid() {
			t.Fatal("Lost closed while Valid still holds")
		}
		// Release does not wait for the hung renew either.
		if err := h.Release(ctx); !errors.Is(err, ErrLost) {
			t.Fatalf("Release after Lost = %v, want ErrLost", err)
		}
	case <-time.After(ttl):
		// The validity ends ttl−margin after the acquire: Lost is late
		// if it has not fired a full TTL after that.
		t.Fatalf("Lost did not fire within %v of the validity's end while a renew hung (Valid=%v)", ttl, h.Valid())
	}
}
