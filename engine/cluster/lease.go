package cluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrHeld is returned by Acquire when another holder has the lease.
var ErrHeld = errors.New("cluster: lease held by another replica")

// HeldError is the ErrHeld of a coordinator that knows when the current
// grant lapses unless renewed: a waiting replica tries again then rather
// than on a fixed retry interval.
type HeldError struct {
	Until time.Time
}

func (e *HeldError) Error() string { return ErrHeld.Error() }

// Is makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// HeldUntil is when the grant that made err an ErrHeld lapses unless
// renewed, if the coordinator said.
func HeldUntil(err error) (time.Time, bool) {
	var he *HeldError
	if errors.As(err, &he) && !he.Until.IsZero() {
		return he.Until, true
	}
	return time.Time{}, false
}

// ErrLost is returned by Renew and Release when the lease is no longer the
// caller's: it expired and was taken, or was released.
var ErrLost = errors.New("cluster: lease lost")

// Lease is one grant of a named piece of work.
type Lease struct {
	Name   string
	Holder string // replica id
	// Revision changes at every grant and renew; Renew and Release
	// compare it, so a stale copy cannot act.
	Revision uint64
	// Since is when Holder first acquired it (renewals keep it).
	Since time.Time
	// Expires is when the grant lapses unless renewed, as the coordinator
	// reckons it (zero: not known). Listings carry it so that a replica
	// can act the moment another's lease runs out instead of at its next
	// poll.
	Expires time.Time
}

// Coordinator grants leases with a fixed TTL. All methods are safe for
// concurrent use.
type Coordinator interface {
	// Acquire grants name to holder if it is free or expired, or returns
	// ErrHeld. A holder that asks again for a lease it holds gets it
	// renewed.
	Acquire(ctx context.Context, name, holder string) (Lease, error)
	// Renew extends l by the TTL, or returns ErrLost.
	Renew(ctx context.Context, l Lease) (Lease, error)
	// Release gives l up at once, so another replica can take it without
	// waiting for the TTL (a clean stop hands over in well under a second).
	Release(ctx context.Context, l Lease) error
	// TTL is how long a grant lasts without a renew.
	TTL() time.Duration
}

// Lister is a Coordinator that can list its live leases (for status, and
// to count live replicas from their member leases).
type Lister interface {
	// Leases returns the live leases whose name starts with prefix.
	Leases(ctx context.Context, prefix string) ([]Lease, error)
}

// MemberPrefix starts the name of every replica's member lease:
// "members.<replica-id>", held for as long as the replica runs.
const MemberPrefix = "members."

// MemberLease is the name of replica id's member lease.
func MemberLease(id string) string { return MemberPrefix + id }

// MemberHolder is the holder a replica takes its member lease under: its id
// and an incarnation unique to the process. Acquire renews a lease for the
// holder that has it, so a second process started with a live replica's id
// must not hold under the bare id: it would share the lease instead of
// being refused.
func MemberHolder(id, incarnation string) string { return id + "@" + incarnation }

// Members returns the live replicas announced on c (nil if c cannot list),
// sorted by id. Each lease's Holder is the replica id, without the
// incarnation.
func Members(ctx context.Context, c Coordinator) ([]Lease, error) {
	l, ok := c.(Lister)
	if !ok {
		return nil, nil
	}
	ls, err := l.Leases(ctx, MemberPrefix)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		ls[i].Holder = strings.TrimPrefix(ls[i].Name, MemberPrefix)
	}
	slices.SortFunc(ls, func(a, b Lease) int { return strings.Compare(a.Name, b.Name) })
	return ls, nil
}
