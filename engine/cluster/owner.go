package cluster

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// PartitionLease is the name of the lease on delivery partition p of a
// pipeline.
func PartitionLease(pipeline string, p int) string { return fmt.Sprintf("%s/part.%d", pipeline, p) }

// RunsPrefix starts the names of the leases that say which replicas run
// pipeline: "runs.<pipeline>.<replica>", the pipeline's dots written "="
// (pipeline names have none), so the prefix names one pipeline and ends
// in the "." that lets a coordinator list just those.
func RunsPrefix(pipeline string) string {
	return runsAll + strings.ReplaceAll(pipeline, ".", "=") + "."
}

const runsAll = "runs."

// RunsLease is the name of the lease replica holds while it delivers
// pipeline: the partitions are spread over the holders of these, not
// over every member, so a replica that does not run the pipeline (not
// loaded yet, refused, removed) is given none of its partitions.
func RunsLease(pipeline, replica string) string { return RunsPrefix(pipeline) + replica }

// Owner keeps, for one pipeline on one replica, the leases of the delivery
// partitions that Assign gives this replica among the live replicas that
// run the pipeline (their RunsLease, which Rebalance holds for this one): each
// Rebalance releases the partitions the replica should no longer own (so
// their new owner gets them at once) and tries to take those it should,
// which their previous owner may still hold until its own next Rebalance.
// A partition is delivered only while Valid says so.
type Owner struct {
	c        Coordinator
	pipeline string
	replica  string
	n        int
	opts     HoldOptions

	mu   sync.Mutex
	runs *Held // RunsLease(pipeline, replica), taken by Rebalance
	held map[int]*Held
	// leaving: partitions this replica should give up but still holds
	// because work is in flight in them (busy); no new work starts there.
	leaving map[int]bool
	busy    func(p int) bool
	// next is when the last Rebalance expects the picture to change by
	// itself: another runner's lease or a wanted partition's grant runs
	// out unless renewed (zero: not known).
	next time.Time
}

// NewOwner returns an Owner of none of pipeline's n partitions yet.
func NewOwner(c Coordinator, pipeline, replica string, n int, o HoldOptions) *Owner {
	return &Owner{c: c, pipeline: pipeline, replica: replica, n: n, opts: o, held: map[int]*Held{}, leaving: map[int]bool{}}
}

// SetBusy makes Rebalance keep a partition it should give up for as long
// as busy(p) reports work in flight there (it starts none: Valid is false),
// so the next owner never starts an object's next event while this replica
// still delivers the one before. busy is called with the Owner's lock
// held; a caller that counts work in flight must count an attempt before
// asking Valid or ValidFor whether it may start it.
func (o *Owner) SetBusy(busy func(p int) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.busy = busy
}

// Rebalance brings the owned partitions towards this replica's share among
// the live replicas running the pipeline. It reports whether the replica
// now owns exactly its
// share.
func (o *Owner) Rebalance(ctx context.Context) (bool, error) {
	if err := o.announce(ctx); err != nil {
		return false, err
	}
	ms, err := runners(ctx, o.c, o.pipeline)
	if err != nil {
		return false, err
	}
	ids := []string{o.replica} // counted even before its lease shows
	var next time.Time
	for _, m := range ms {
		if m.Holder != o.replica {
			ids = append(ids, m.Holder)
			next = earliest(next, m.Expires)
		}
	}
	want := Assign(o.n, ids)[o.replica]
	// The lock is not held across the coordinator's round trips: Valid
	// and ValidFor, asked before every delivery attempt, must not wait
	// for them. Rebalance itself runs on one goroutine at a time.
	o.mu.Lock()
	release := map[int]*Held{}
	var acquire []int
	for p, h := range o.held {
		select {
		case <-h.Lost():
			delete(o.held, p)
			delete(o.leaving, p)
			continue
		default:
		}
		if slices.Contains(want, p) {
			delete(o.leaving, p)
			continue
		}
		o.leaving[p] = true
		if o.busy != nil && o.busy(p) {
			continue // given up once its work in flight is done
		}
		release[p] = h
		delete(o.held, p) // from here on no work starts in p
		delete(o.leaving, p)
	}
	for _, p := range want {
		if _, ok := o.held[p]; !ok {
			acquire = append(acquire, p)
		}
	}
	o.mu.Unlock()
	// The leases are released, then asked for, each set at once: one
	// round trip each, one after the other, made a takeover of a crashed
	// replica's share, or a clean stop's hand-over, several round trips
	// long.
	var firstErr error
	for err := range concurrently(slices.Collect(maps.Values(release)), func(h *Held) error { return h.Release(ctx) }) {
		if !errors.Is(err, ErrLost) && firstErr == nil {
			firstErr = err // the lease lapses by itself
		}
	}
	complete := true
	var mu sync.Mutex // next, complete, firstErr
	for err := range concurrently(acquire, func(p int) error {
		h, err := TryHold(ctx, o.c, PartitionLease(o.pipeline, p), o.replica, o.opts)
		if err == nil {
			o.mu.Lock()
			o.held[p] = h
			o.mu.Unlock()
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		complete = false
		if until, ok := HeldUntil(err); ok {
			// Its previous owner gives it up at its next Rebalance,
			// or, gone, lets it run out.
			next = earliest(next, until)
		}
		if errors.Is(err, ErrHeld) {
			return nil
		}
		return err
	}) {
		if firstErr == nil {
			firstErr = err
		}
	}
	o.setNext(next)
	return complete && firstErr == nil, firstErr
}

// concurrently runs f on every item at once and yields the errors, once
// all have returned.
func concurrently[T any](items []T, f func(T) error) iter.Seq[error] {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { errs[i] = f(it) })
	}
	wg.Wait()
	return func(yield func(error) bool) {
		for _, err := range errs {
			if err != nil && !yield(err) {
				return
			}
		}
	}
}

// announce holds this replica's RunsLease, taken again if it was lost.
func (o *Owner) announce(ctx context.Context) error {
	o.mu.Lock()
	h := o.runs
	o.mu.Unlock()
	if h != nil {
		select {
		case <-h.Lost():
		default:
			return nil
		}
	}
	h, err := TryHold(ctx, o.c, RunsLease(o.pipeline, o.replica), o.replica, o.opts)
	if err != nil {
		return fmt.Errorf("cluster: announcing %s runs %s: %w", o.replica, o.pipeline, err)
	}
	o.mu.Lock()
	o.runs = h
	o.mu.Unlock()
	return nil
}

// runners lists the live replicas running pipeline (their RunsLease; the
// holder is the replica id). A coordinator that cannot list has none.
func runners(ctx context.Context, c Coordinator, pipeline string) ([]Lease, error) {
	l, ok := c.(Lister)
	if !ok {
		return nil, nil
	}
	// One listing of every pipeline's runners: the owners of all the
	// pipelines of a replica share it (the runtime caches it), where one
	// listing each multiplied the coordinator's work (each is a round
	// trip per lease), and slowed takeovers under load.
	ls, err := l.Leases(ctx, runsAll)
	if err != nil {
		return nil, err
	}
	prefix := RunsPrefix(pipeline)
	ls = slices.DeleteFunc(ls, func(l Lease) bool { return !strings.HasPrefix(l.Name, prefix) })
	slices.SortFunc(ls, func(a, b Lease) int { return strings.Compare(a.Holder, b.Holder) })
	return ls, nil
}

func (o *Owner) setNext(t time.Time) {
	o.mu.Lock()
	o.next = t
	o.mu.Unlock()
}

// NextCheck is when the last Rebalance expects the membership or a wanted
// partition to change without anyone asking: another runner's lease or a
// wanted partition's grant runs out unless renewed. A caller that
// rebalances on a timer rebalances then as well, so a crashed replica's
// partitions move the moment their leases run out. Zero: nothing known.
func (o *Owner) NextCheck() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next
}

// Wait is how long a caller that rebalances every interval should wait
// before the next Rebalance: the interval, or less to be there just after
// NextCheck.
func (o *Owner) Wait(every time.Duration) time.Duration {
	if next := o.NextCheck(); !next.IsZero() {
		return min(every, max(time.Until(next)+heldSlack, heldSlack))
	}
	return every
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Run rebalances every interval until ctx ends, then releases every
// partition.
func (o *Owner) Run(ctx context.Context, every time.Duration) {
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		_, _ = o.Rebalance(ctx) // a failing coordinator: held leases lapse by their own validity
		t.Reset(o.Wait(every))
		select {
		case <-ctx.Done():
			o.ReleaseAll(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
	}
}

// ReleaseAll gives every owned partition up.
func (o *Owner) ReleaseAll(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for range concurrently(slices.Collect(maps.Values(o.held)), func(h *Held) error { return h.Release(ctx) }) {
	}
	clear(o.held)
	clear(o.leaving)
	// Last: the others take this replica's share once they no longer
	// count it, and find its partitions free by then.
	if o.runs != nil {
		_ = o.runs.Release(ctx)
		o.runs = nil
	}
}

// Owned lists the partitions held now, sorted.
func (o *Owner) Owned() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []int
	for p, h := range o.held {
		if h.Valid() && !o.leaving[p] {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Holding is one partition an Owner holds, and since when.
type Holding struct {
	Partition int       `json:"partition"`
	Since     time.Time `json:"since"`
}

// Holdings lists the partitions held now with the time each was acquired,
// in partition order.
func (o *Owner) Holdings() []Holding {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Holding
	for p, h := range o.held {
		if h.Valid() && !o.leaving[p] {
			out = append(out, Holding{Partition: p, Since: h.Since()})
		}
	}
	slices.SortFunc(out, func(a, b Holding) int { return a.Partition - b.Partition })
	return out
}

// ValidFor reports whether this replica may start, in partition p, an
// attempt that may last d: it holds p's lease and will for at least d.
func (o *Owner) ValidFor(p int, d time.Duration) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.held[p]
	return h != nil && !o.leaving[p] && h.ValidFor(d)
}

// N is the number of partitions.
func (o *Owner) N() int { return o.n }

// Valid reports whether this replica may start a delivery attempt in
// partition p now: it holds p's lease and the lease's validity has not run
// out (Held.Valid).
func (o *Owner) Valid(p int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.held[p]
	return h != nil && !o.leaving[p] && h.Valid()
}
