package cluster

import (
	"context"
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
	ctx := context.Background()
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
	if err := h.Release(ctx); err != nil {
		t.Fatalf("Release during a renew: %v", err)
	}
	if _, err := c.Acquire(ctx, "p/poll", "B"); err != nil {
		t.Fatalf("B after A's release: %v", err)
	}
}
