package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// appliedThenCancelled is a coordinator whose renew reaches the server
// (the grant is extended, the revision moves) but whose answer comes
// late: a caller that cancels the renew meanwhile never learns the new
// revision, as with a KV request whose reply is lost.
type appliedThenCancelled struct {
	*Local
	started chan struct{}
}

func (c *appliedThenCancelled) Renew(ctx context.Context, l Lease) (Lease, error) {
	nl, err := c.Local.Renew(context.Background(), l)
	select {
	case c.started <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
		return Lease{}, ctx.Err()
	case <-time.After(50 * time.Millisecond): // the reply's latency
		return nl, err
	}
}

// Release while a renew is in flight gives up the grant that renew made,
// so another replica can take the lease at once.
func TestReleaseDuringRenew(t *testing.T) {
	c, h := holdUntilRenewing(t, context.Background())
	releaseHandsOver(t, c, h, "Release during a renew")
}

// holdUntilRenewing holds p/poll as A with ctx on a coordinator whose
// renews are applied at once and answered late, and returns once a renew
// is in flight.
func holdUntilRenewing(t *testing.T, ctx context.Context) (*appliedThenCancelled, *Held) {
	t.Helper()
	c := &appliedThenCancelled{Local: NewLocal(3*time.Second, time.Now), started: make(chan struct{}, 1)}
	h, err := TryHold(ctx, c, "p/poll", "A", HoldOptions{Renew: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.started:
	case <-time.After(5 * time.Second):
		t.Fatal("no renew started")
	}
	return c, h
}

// releaseHandsOver releases h and checks that B can take the lease at
// once, without waiting for a grant to run out.
func releaseHandsOver(t *testing.T, c Coordinator, h *Held, what string) {
	t.Helper()
	ctx := context.Background()
	if err := h.Release(ctx); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, err := c.Acquire(ctx, "p/poll", "B"); err != nil {
		t.Fatalf("B after A's release: %v", err)
	}
}

// appliedReplyLost is a coordinator whose first renew reaches the server
// but whose answer is lost (a timeout): the holder does not know its grant.
type appliedReplyLost struct {
	*Local
	once sync.Once
	lost atomic.Bool // the first renew has been answered
}

func (c *appliedReplyLost) Renew(ctx context.Context, l Lease) (Lease, error) {
	nl, err := c.Local.Renew(ctx, l)
	c.once.Do(func() { nl, err = Lease{}, context.DeadlineExceeded; c.lost.Store(true) })
	return nl, err
}

// Release after a renew whose outcome is unknown gives up the grant that
// renew may have made. This is also the order the renew loop may take a
// renew cancelled by Release in (its answer before its stop), which made
// TestReleaseDuringRenew fail 25 times in 4,000 under load.
func TestReleaseAfterRenewOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	c := &appliedReplyLost{Local: NewLocal(3*time.Second, time.Now)}
	// The renew loop reads the clock to check validity once it has taken
	// a failed renew's answer: that read tells the test it has.
	handled := make(chan struct{})
	var signal sync.Once
	now := func() time.Time {
		if c.lost.Load() {
			signal.Do(func() { close(handled) })
		}
		return time.Now()
	}
	h, err := TryHold(ctx, c, "p/poll", "A", HoldOptions{Renew: 100 * time.Millisecond, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("no renew answered")
	}
	releaseHandsOver(t, c, h, "Release after a renew of unknown outcome")
}

// A holder whose context ends while a renew is in flight — a replica's
// member lease at shutdown: the daemon ends the lease's context, then
// releases it — gives up the grant that renew may have made. Before, the
// renew loop ended on the context without marking the grant unsure, the
// release was refused as stale, and the lease stayed until its TTL ran
// out (TestReplicasAnnounceThemselves: r1 left the members 1.16s after a
// clean stop, in 2 of 40 runs under load).
func TestReleaseAfterContextEndedDuringRenew(t *testing.T) {
	life, end := context.WithCancel(context.Background())
	defer end()
	c, h := holdUntilRenewing(t, life)
	end()
	select {
	case <-h.done: // the renew loop saw the context end, not a Release
	case <-time.After(5 * time.Second):
		t.Fatal("the renew loop did not end with its context")
	}
	releaseHandsOver(t, c, h, "Release after the context ended during a renew")
}
