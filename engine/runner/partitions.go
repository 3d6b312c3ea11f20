package runner

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/store"
)

// PartitionsKey is the state key recording a pipeline's delivery
// partitions, set by the first replica to run it: the partition of an
// object must not change while its events are queued, so a replica
// configured with another count refuses the pipeline.
const PartitionsKey = "delivery.partitions"

// attemptSlack is added to a sink's timeout when checking that a partition
// lease outlasts an attempt: the attempt's outcome is committed after
// Deliver returns. It is at most a tenth of the lease TTL.
const attemptSlack = 500 * time.Millisecond

// parts says which delivery partitions of one pipeline this replica
// delivers. Without Options.SharedDelivery (one process: bbolt) there is
// no owner and every partition is always held, so delivery is what it was
// before partitions. Otherwise a cluster.Owner holds the leases of this
// replica's share among the replicas running the pipeline, rebalanced as
// they come and go.
type parts struct {
	n       int
	owner   *cluster.Owner // nil: every partition always held
	attempt time.Duration  // how long a lease must still run to start an attempt
	every   time.Duration  // rebalance interval
	changed chan struct{}  // ownership changed (one slot)
	// inflight counts attempts running per partition: the owner keeps a
	// partition it should give up until its attempts are done.
	inflight []atomic.Int32

	mu   sync.Mutex
	held map[int]bool // as of the last rebalance
}

func newParts(n int) *parts {
	return &parts{n: n, changed: make(chan struct{}, 1), inflight: make([]atomic.Int32, n)}
}

// begin claims an attempt in partition n if one may start now (mayStart),
// counting it first so that the owner cannot give n up in between.
func (p *parts) begin(n int) bool {
	p.inflight[n].Add(1)
	if p.mayStart(n) {
		return true
	}
	p.inflight[n].Add(-1)
	return false
}

// end is the end of an attempt begun in partition n.
func (p *parts) end(n int) { p.inflight[n].Add(-1) }

// partitionOf is the partition of a record: by its key, or by its id for
// an unordered record.
func (p *parts) partitionOf(r *store.Record) int {
	k := r.Key
	if k == "" {
		k = r.ID
	}
	return cluster.Partition(k, p.n)
}

// mayStart reports whether an attempt in partition n may start now: its
// lease is held and will be for the attempt's whole length.
func (p *parts) mayStart(n int) bool {
	return p.owner == nil || p.owner.ValidFor(n, p.attempt)
}

// snapshot is the held set as of the last rebalance.
func (p *parts) snapshot() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.held)
}

// Holdings are the partitions held now, and since when (status).
func (p *parts) Holdings() []cluster.Holding {
	if p.owner == nil {
		return nil
	}
	return p.owner.Holdings()
}

// run rebalances until ctx ends, then releases every partition.
func (p *parts) run(ctx context.Context) {
	if p.owner == nil {
		return
	}
	t := time.NewTimer(p.every)
	defer t.Stop()
	for {
		_, _ = p.owner.Rebalance(ctx) // a failing coordinator: held leases lapse by their own validity
		p.refresh()
		// Every interval, and just after a member's or a wanted
		// partition's lease runs out: a crashed replica's partitions
		// move then, not up to an interval later.
		t.Reset(p.owner.Wait(p.every))
		select {
		case <-ctx.Done():
			p.owner.ReleaseAll(context.WithoutCancel(ctx))
			p.refresh()
			return
		case <-t.C:
		}
	}
}

func (p *parts) refresh() {
	now := map[int]bool{}
	for _, n := range p.owner.Owned() {
		now[n] = true
	}
	p.mu.Lock()
	same := maps.Equal(now, p.held)
	p.held = now
	p.mu.Unlock()
	if !same {
		select {
		case p.changed <- struct{}{}:
		default:
		}
	}
}

// setupParts builds a pipeline's partition gate and checks it: the count
// recorded in the store (recorded now if none), and, when delivery is
// shared, that an attempt fits in a partition lease.
func (r *Runtime) setupParts(ctx context.Context, b *Built) (*parts, error) {
	n := b.Spec.Delivery.Partitions
	if n <= 0 {
		n = cluster.DefaultPartitions
	}
	p := newParts(n)
	if !r.opts.SharedDelivery {
		return p, nil // one process delivers everything: nothing to agree on
	}
	if err := r.recordPartitions(ctx, b.Name(), n); err != nil {
		return nil, err
	}
	ttl := r.opts.Coordinator.TTL()
	o := cluster.HoldOptions{}
	margin := ttl / 5
	timeout := time.Second
	if ts, ok := b.Sink.(engine.TimeoutSink); ok {
		timeout = ts.Timeout()
	}
	slack := min(attemptSlack, ttl/10)
	p.attempt = timeout + slack
	if p.attempt >= ttl-margin {
		return nil, fmt.Errorf("sink timeout %s does not fit in a delivery partition lease: an attempt (plus %s to record its outcome) must end within the lease TTL %s minus its safety margin %s; lower the sink's timeout or raise the lease TTL", timeout, slack, ttl, margin)
	}
	// Renew often enough that right after each renewal, and up to the
	// next, the lease runs for longer than an attempt: then the check
	// before each attempt never holds delivery up.
	o.Renew = max((ttl-margin-p.attempt)/2, 50*time.Millisecond)
	p.owner = cluster.NewOwner(r.ownerCoordinator(), b.Name(), r.opts.ReplicaID, n, o)
	p.owner.SetBusy(func(n int) bool { return p.inflight[n].Load() > 0 })
	p.every = min(ttl/10, 500*time.Millisecond)
	return p, nil
}

// errPartitions marks a pipeline refused for its partition count.
var errPartitions = errors.New("delivery.partitions differs from the count recorded for this pipeline")

// recordPartitions records n as the pipeline's partition count if none is,
// and refuses a count other than the recorded one.
func (r *Runtime) recordPartitions(ctx context.Context, name string, n int) error {
	v, err := r.opts.Store.Value(ctx, name, PartitionsKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		var b store.Batch
		b.PutIfAbsent(name, PartitionsKey, []byte(strconv.Itoa(n)))
		err := r.opts.Store.Commit(ctx, &b)
		if errors.Is(err, store.ErrExists) {
			return r.recordPartitions(ctx, name, n) // another replica got there first
		}
		if err != nil {
			return fmt.Errorf("recording delivery.partitions: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading the recorded delivery.partitions: %w", err)
	}
	have, err := strconv.Atoi(string(v))
	if err != nil {
		return fmt.Errorf("recorded delivery.partitions %q is not a number", v)
	}
	if have != n {
		return fmt.Errorf("%w: the config says %d, the store (written by the replica that first ran it) says %d; every replica must use %d, or the queue must be drained and the pipeline renamed", errPartitions, n, have, have)
	}
	return nil
}

// heldList is the sorted partitions of a set.
func heldList(m map[int]bool) []int {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}

// gateRecheck is how soon a head held back by its partition lease is
// looked at again (the lease is renewed meanwhile).
const gateRecheck = 50 * time.Millisecond

// stableRecheck is how soon reading goes on after it stopped at the
// store's Stable Seq (the store catches up within a round trip or so).
const stableRecheck = 2 * time.Millisecond

// repartition follows a change of the partitions held: keys of partitions
// lost leave the window (their new owner delivers them; one in flight
// leaves when its attempt reports), and if partitions were gained the
// store is brought up to date with every replica's writes and the queue
// is read again from the start, so each gained key starts with its
// oldest unacknowledged record, attempts and retry time included.
func (d *deliverer) repartition(ctx context.Context) {
	now := d.parts.snapshot()
	gained := false
	for n := range now {
		if !d.held[n] {
			gained = true
		}
	}
	for _, kq := range d.keys {
		if len(kq.items) == 0 || now[d.parts.partitionOf(&kq.items[0])] {
			continue
		}
		switch kq.state {
		case headInFlight:
			kq.dropped = true
		case headReady:
			heap.Remove(&d.ready, kq.index)
			d.forget(kq)
		case headWaiting:
			heap.Remove(&d.waiting, kq.index)
			d.forget(kq)
		default:
			d.forget(kq)
		}
	}
	d.held = now
	if !gained {
		d.logger.Info("delivery partitions changed", "held", heldList(now))
		return
	}
	start := time.Now()
	if w, ok := asWatcher(d.store); ok {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := w.Sync(sctx); err != nil && ctx.Err() == nil {
			d.logger.Warn("catching up with other replicas before delivering gained partitions", "error", err)
		}
		cancel()
	}
	d.rewindAll()
	// How long the catch-up took: it delays a takeover's first attempt.
	d.logger.Info("delivery partitions changed", "held", heldList(now), "caught_up_in", time.Since(start).Round(time.Millisecond))
}

// forget removes a key queue, not in a heap, from the window.
func (d *deliverer) forget(kq *keyQueue) {
	for _, r := range kq.items {
		d.bodies -= len(r.Body)
	}
	d.entries -= len(kq.items)
	kq.items = nil
	delete(d.keys, kq.key)
}

// rewindAll reads the queue again from its start (window.go: lastRead 0
// with no evicted keys keeps every invariant).
func (d *deliverer) rewindAll() {
	d.lastRead = 0
	d.more = true
	d.evict.reset()
}

// owns reports whether r's partition was held when the window was last
// repartitioned. The window follows that snapshot, not the live holdings:
// a partition gained is taken in only by the rewind that repartition does,
// which reads each of its keys from its oldest record; taken in by a read
// in between, a key could start with a later record than its oldest.
func (d *deliverer) owns(r *store.Record) bool {
	return d.parts.owner == nil || d.held[d.parts.partitionOf(r)]
}

// memberCache shares the listings of live leases the partition owners of
// a runtime ask for (which replicas run a pipeline: cluster.RunsPrefix)
// among them: each owner rebalances every few hundred milliseconds, and a
// listing is a round trip per lease (plus a consumer to list the keys:
// most of a second on a loaded machine). A listing up to staleAfter old is
// answered at once, without the leases that ran out since
// (Lease.Expires), while a fresh one is fetched in the background: a
// crashed replica leaves the listing the moment its lease runs out,
// however slow a listing is. Older, the listing is fetched before
// answering.
type memberCache struct {
	cluster.Coordinator
	lister     cluster.Lister
	maxAge     time.Duration
	staleAfter time.Duration

	mu       sync.Mutex
	listings map[string]*listing // by prefix
}

type listing struct {
	at         time.Time
	leases     []cluster.Lease
	refreshing bool
}

func (m *memberCache) Leases(ctx context.Context, prefix string) ([]cluster.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listings == nil {
		m.listings = map[string]*listing{}
	}
	l := m.listings[prefix]
	if l == nil {
		l = &listing{}
		m.listings[prefix] = l
	}
	if age := time.Since(l.at); !l.at.IsZero() && age < m.staleAfter {
		if age >= m.maxAge && !l.refreshing {
			l.refreshing = true
			go m.refresh(prefix, l)
		}
		return live(l.leases), nil
	}
	ls, err := m.lister.Leases(ctx, prefix)
	if err != nil {
		return nil, err
	}
	l.at, l.leases = time.Now(), ls
	return live(ls), nil
}

// refresh lists prefix's leases in the background.
func (m *memberCache) refresh(prefix string, l *listing) {
	ctx, cancel := context.WithTimeout(context.Background(), m.staleAfter)
	defer cancel()
	at := time.Now()
	ls, err := m.lister.Leases(ctx, prefix)
	m.mu.Lock()
	defer m.mu.Unlock()
	l.refreshing = false
	if err == nil && at.After(l.at) {
		l.at, l.leases = at, ls
	}
}

// live is a copy of ls without the leases that ran out.
func live(ls []cluster.Lease) []cluster.Lease {
	now := time.Now()
	return slices.DeleteFunc(slices.Clone(ls), func(l cluster.Lease) bool {
		return !l.Expires.IsZero() && !now.Before(l.Expires)
	})
}

// ownerCoordinator is the coordinator the partition owners of this
// runtime use: its own, with member listings shared.
func (r *Runtime) ownerCoordinator() cluster.Coordinator {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members != nil {
		return r.members
	}
	l, ok := r.opts.Coordinator.(cluster.Lister)
	if !ok {
		return r.opts.Coordinator
	}
	ttl := r.opts.Coordinator.TTL()
	// staleAfter: a live member renews every TTL/3, so a listing TTL/3
	// old still shows its lease running for a third of the TTL.
	r.members = &memberCache{Coordinator: r.opts.Coordinator, lister: l, maxAge: min(ttl/10, 500*time.Millisecond) / 2, staleAfter: ttl / 3}
	return r.members
}
