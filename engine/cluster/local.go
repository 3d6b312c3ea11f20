package cluster

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Local is a Coordinator inside one process. With one replica it always
// grants; tests run several in-process replicas on one Local to check the
// rules every Coordinator must keep.
type Local struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	rev    uint64
	leases map[string]localLease
}

type localLease struct {
	Lease
	expires time.Time
}

var _ Coordinator = (*Local)(nil)

// NewLocal returns a Local with the given TTL; now is its clock (nil: the
// wall clock).
func NewLocal(ttl time.Duration, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{ttl: ttl, now: now, leases: map[string]localLease{}}
}

// TTL is the grant's lifetime.
func (c *Local) TTL() time.Duration { return c.ttl }

// Acquire implements Coordinator.
func (c *Local) Acquire(ctx context.Context, name, holder string) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	cur, ok := c.leases[name]
	if ok && cur.Holder != holder && now.Before(cur.expires) {
		return Lease{}, &HeldError{Until: cur.expires}
	}
	since := now
	if ok && cur.Holder == holder && now.Before(cur.expires) {
		since = cur.Since
	}
	c.rev++
	l := Lease{Name: name, Holder: holder, Revision: c.rev, Since: since, Expires: now.Add(c.ttl)}
	c.leases[name] = localLease{Lease: l, expires: l.Expires}
	return l, nil
}

// Renew implements Coordinator.
func (c *Local) Renew(ctx context.Context, l Lease) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	cur, ok := c.leases[l.Name]
	if !ok || cur.Revision != l.Revision || !now.Before(cur.expires) {
		return Lease{}, ErrLost
	}
	c.rev++
	cur.Revision = c.rev
	cur.expires = now.Add(c.ttl)
	cur.Lease.Expires = cur.expires
	c.leases[l.Name] = cur
	return cur.Lease, nil
}

// Release implements Coordinator.
func (c *Local) Release(ctx context.Context, l Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.leases[l.Name]
	if !ok || cur.Revision != l.Revision {
		return ErrLost
	}
	delete(c.leases, l.Name)
	return nil
}

var _ Lister = (*Local)(nil)

// Leases implements Lister.
func (c *Local) Leases(ctx context.Context, prefix string) ([]Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	var out []Lease
	for name, l := range c.leases {
		if strings.HasPrefix(name, prefix) && now.Before(l.expires) {
			out = append(out, l.Lease)
		}
	}
	return out, nil
}
