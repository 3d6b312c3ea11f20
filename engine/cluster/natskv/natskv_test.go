package natskv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/cluster/clustertest"
	"github.com/connectord/connectord/engine/cluster/natskv"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// One standalone server serves every test of the package.
var (
	srv     *natstest.Cluster
	buckets atomic.Int64
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "natskv-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err = natstest.Start(natstest.Config{Dir: dir, Servers: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Shutdown()
	return m.Run()
}

func newKV(t testing.TB, ttl time.Duration) (*natskv.KV, string) {
	t.Helper()
	nc, err := nats.Connect(srv.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	bucket := fmt.Sprintf("leases%d", buckets.Add(1))
	c, err := natskv.New(context.Background(), nc, natskv.Options{Bucket: bucket, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return c, bucket
}

func TestKVContract(t *testing.T) {
	clustertest.Run(t, clustertest.Backend{New: func(t testing.TB) cluster.Coordinator {
		c, _ := newKV(t, time.Second)
		return c
	}})
}

// Every replica must use one TTL: a bucket made with another is refused.
func TestKVRefusesOtherTTL(t *testing.T) {
	_, bucket := newKV(t, time.Second)
	nc, err := nats.Connect(srv.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = natskv.New(context.Background(), nc, natskv.Options{Bucket: bucket, TTL: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "TTL") {
		t.Fatalf("New with another TTL = %v", err)
	}
}

// A waiting replica is told when the grant it waits for runs out, and gets
// it then, whether or not the server has removed the grant yet; the old
// holder's renew is refused afterwards.
func TestKVHeldUntilAndTakeOver(t *testing.T) {
	const ttl = time.Second
	c, _ := newKV(t, ttl)
	ctx := context.Background()
	before := time.Now()
	a, err := c.Acquire(ctx, "p/part.0", "A")
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	_, err = c.Acquire(ctx, "p/part.0", "B")
	until, ok := cluster.HeldUntil(err)
	if !ok {
		t.Fatalf("B's Acquire = %v, want an ErrHeld that says until when", err)
	}
	const skew = 50 * time.Millisecond // server and test share a clock
	if until.Before(before.Add(ttl-skew)) || until.After(after.Add(ttl+skew)) {
		t.Fatalf("held until %v, acquired between %v and %v with TTL %v", until, before, after, ttl)
	}
	var b cluster.Lease
	deadline := until.Add(ttl / 2)
	for {
		b, err = c.Acquire(ctx, "p/part.0", "B")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B could not take the lease %v after it ran out: %v", time.Since(until), err)
		}
		wait := 10 * time.Millisecond
		if u, ok := cluster.HeldUntil(err); ok {
			wait = max(wait, time.Until(u))
		}
		time.Sleep(wait) // polling with a deadline, as a waiting replica does
	}
	if _, err := c.Renew(ctx, a); !errors.Is(err, cluster.ErrLost) {
		t.Fatalf("A's renew after B took over = %v, want ErrLost", err)
	}
	if b.Expires.IsZero() {
		t.Fatal("a grant carries no Expires")
	}
}

// A replica waiting for a lease gets it within a round trip of its
// holder's release, not at its next retry (TTL/5: 3 s at this TTL).
func TestKVReleaseWakesWaiter(t *testing.T) {
	kv, _ := newKV(t, 15*time.Second)
	c := &watching{KV: kv, started: make(chan struct{}, 1)}
	ctx := context.Background()
	a, err := cluster.Hold(ctx, c, "p/poll", "A", cluster.HoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *cluster.Held, 1)
	go func() {
		b, err := cluster.Hold(ctx, c, "p/poll", "B", cluster.HoldOptions{})
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	select {
	case <-c.started: // B was refused and watches the lease
	case <-time.After(10 * time.Second):
		t.Fatal("B never watched the lease")
	}
	released := time.Now()
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		d := time.Since(released)
		t.Logf("hand-over after release: %v", d)
		if d > time.Second {
			t.Errorf("hand-over took %v, want < 1s (the retry interval is 3s)", d)
		}
		b.Release(ctx)
	case <-time.After(10 * time.Second):
		t.Fatal("B never acquired the released lease")
	}
}

// watching reports when a waiter starts watching a lease.
type watching struct {
	*natskv.KV
	started chan struct{}
}

func (w *watching) Wake(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	ch, stop, err := w.KV.Wake(ctx, name)
	select {
	case w.started <- struct{}{}:
	default:
	}
	return ch, stop, err
}

// BenchmarkLeasesByPrefix lists the leases under a dotted prefix (as the
// runtime lists "runs." and the members), among 20 leases.
func BenchmarkLeasesByPrefix(b *testing.B) {
	kv, _ := newKV(b, 30*time.Second)
	ctx := context.Background()
	for i := range 10 {
		for _, name := range []string{fmt.Sprintf("runs.p.r%d", i), fmt.Sprintf("p/part/%d", i)} {
			if _, err := kv.Acquire(ctx, name, "r"); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		ls, err := kv.Leases(ctx, "runs.")
		if err != nil || len(ls) != 10 {
			b.Fatalf("Leases: %d, %v", len(ls), err)
		}
	}
}

// A listing by prefix in a bucket of more than 256 keys leaves no
// goroutine behind (a dropped unfiltered lister blocked for good there).
func TestLeasesByPrefixLeaveNothingBehind(t *testing.T) {
	kv, _ := newKV(t, 30*time.Second)
	ctx := context.Background()
	for i := range 300 {
		if _, err := kv.Acquire(ctx, fmt.Sprintf("p/part/%d", i), "r"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Acquire(ctx, "runs.p.r1", "r1"); err != nil {
		t.Fatal(err)
	}
	list := func() {
		ls, err := kv.Leases(ctx, "runs.")
		if err != nil || len(ls) != 1 {
			t.Fatalf("Leases(runs.) = %v, %v", ls, err)
		}
	}
	list() // the connection's own goroutines start here
	before := runtime.NumGoroutine()
	for range 5 {
		list()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after 5 listings, %d before", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}
