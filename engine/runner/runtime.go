package runner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/store"
)

// Options configure a Runtime.
type Options struct {
	Store    store.Store
	Router   *Router // webhook sources are mounted here; nil: NewRouter()
	Logger   *slog.Logger
	Clock    engine.Clock
	Observer Observer // optional delivery metrics
	// Breaker is the circuit breaker of every sink endpoint; zero fields
	// take DefaultBreaker's.
	Breaker Breaker
	// DrainTimeout bounds how long a stopping pipeline waits for
	// deliveries in flight before cancelling them (default 10s). Cancelled
	// attempts do not count and are retried by the next generation.
	DrainTimeout time.Duration
	// Coordinator grants the leases that keep a pipeline's poller on one
	// replica at a time (lease PollLease(name)); nil: a cluster.Local,
	// which always grants to this single process.
	Coordinator cluster.Coordinator
	// ReplicaID names this replica as a lease holder (default "local").
	ReplicaID string
	// SharedDelivery spreads each pipeline's delivery over the replicas
	// sharing the store: this replica delivers only the delivery
	// partitions it holds leases on (cluster.Owner on Coordinator). Off
	// (one process, bbolt), every partition is always this replica's.
	SharedDelivery bool
}

// Runtime runs pipelines. Apply starts, replaces and stops them by name;
// unchanged pipelines (same Hash) are left alone. It is safe for concurrent
// use; Apply calls are serialised.
type Runtime struct {
	opts Options

	mu        sync.Mutex
	running   map[string]*generation
	counters  map[string]*Counters // per name, kept across generations
	wakes     map[string]*storedSignal
	queues    map[string]*queueGauge // per name, kept across generations
	endpoints endpoints
	health    *storeHealth
	members   *memberCache // set on first use (ownerCoordinator)
	nextGen   uint64
	applyLock sync.Mutex
}

// NewRuntime returns a runtime with no pipelines.
func NewRuntime(opts Options) *Runtime {
	if opts.Router == nil {
		opts.Router = NewRouter()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Clock == nil {
		opts.Clock = engine.SystemClock{}
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.Breaker.TripAfter <= 0 {
		opts.Breaker.TripAfter = DefaultBreaker.TripAfter
	}
	if opts.Breaker.ProbeInitial <= 0 {
		opts.Breaker.ProbeInitial = DefaultBreaker.ProbeInitial
	}
	if opts.Breaker.ProbeMax <= 0 {
		opts.Breaker.ProbeMax = DefaultBreaker.ProbeMax
	}
	if opts.Coordinator == nil {
		opts.Coordinator = cluster.NewLocal(DefaultLeaseTTL, nil)
	}
	if opts.ReplicaID == "" {
		opts.ReplicaID = "local"
	}
	health := &storeHealth{}
	opts.Store = &trackedStore{Store: opts.Store, health: health}
	return &Runtime{
		opts: opts, running: map[string]*generation{}, counters: map[string]*Counters{},
		wakes: map[string]*storedSignal{}, queues: map[string]*queueGauge{},
		endpoints: endpoints{cfg: opts.Breaker}, health: health,
	}
}

// DefaultLeaseTTL is the lease TTL of the Local coordinator used when
// Options.Coordinator is nil.
const DefaultLeaseTTL = 10 * time.Second

// Coordinator is the lease coordinator the runtime polls under.
func (r *Runtime) Coordinator() cluster.Coordinator { return r.opts.Coordinator }

// ReplicaID is this replica's name as a lease holder.
func (r *Runtime) ReplicaID() string { return r.opts.ReplicaID }

// PollLease is the name of the lease a pipeline's poller runs under.
func PollLease(pipeline string) string { return pipeline + "/poll" }

// Router is the handler to serve on --listen.
func (r *Runtime) Router() *Router { return r.opts.Router }

// ApplyResult says what Apply did, by pipeline name.
type ApplyResult struct {
	Started   []string `json:"started,omitempty"`
	Replaced  []string `json:"replaced,omitempty"`
	Stopped   []string `json:"stopped,omitempty"`
	Unchanged []string `json:"unchanged,omitempty"`
}

// Apply makes the running set equal to built. A new pipeline starts; a
// changed one is swapped: its webhook route switches atomically to the new
// generation, the old source stops before the new one starts (a poller never
// polls twice at once), and the old deliveries drain before the new ones
// start, so per-object order holds. Queues, cursors and dead letters carry
// over because they are keyed by name. A removed pipeline stops taking
// input, drains, and leaves its queue on disk.
func (r *Runtime) Apply(ctx context.Context, built []*Built) ApplyResult {
	r.applyLock.Lock()
	defer r.applyLock.Unlock()
	var res ApplyResult
	want := map[string]bool{}
	for _, b := range built {
		want[b.Name()] = true
		r.mu.Lock()
		old := r.running[b.Name()]
		r.mu.Unlock()
		switch {
		case old != nil && old.built.Hash == b.Hash:
			closeComponents(b)
			res.Unchanged = append(res.Unchanged, b.Name())
		case old != nil:
			r.replace(ctx, old, b)
			res.Replaced = append(res.Replaced, b.Name())
		default:
			r.start(ctx, b)
			res.Started = append(res.Started, b.Name())
		}
	}
	r.mu.Lock()
	var removed []*generation
	for name, g := range r.running {
		if !want[name] {
			removed = append(removed, g)
		}
	}
	r.mu.Unlock()
	sort.Slice(removed, func(i, j int) bool { return removed[i].name < removed[j].name })
	for _, g := range removed {
		r.stop(ctx, g)
		r.mu.Lock()
		delete(r.running, g.name)
		r.mu.Unlock()
		res.Stopped = append(res.Stopped, g.name)
	}
	return res
}

func (r *Runtime) replace(ctx context.Context, old *generation, b *Built) {
	parts, err := r.setupParts(ctx, b)
	if err != nil {
		if old.refused() {
			r.refuse(old, b, err)
			return
		}
		// A bad change never stops a running pipeline.
		closeComponents(b)
		r.opts.Logger.Error("pipeline change refused; the running generation goes on", "pipeline", b.Name(), "error", err)
		old.setState("degraded: change refused, the previous generation runs: " + err.Error())
		return
	}
	g := r.prepare(b)
	g.deliverer.parts = parts
	// The new route goes live first: from here on new requests reach the
	// new generation; requests already inside the old handler finish there.
	g.mount()
	if old.route != nil && (g.route == nil || old.route.Path != g.route.Path) {
		r.opts.Router.Remove(old.route)
	}
	old.route = nil
	old.stopSource()
	old.stopDelivery(ctx, r.opts.DrainTimeout)
	closeComponents(old.built)
	r.launch(g)
	r.opts.Logger.Info("pipeline reloaded", "pipeline", b.Name(), "generation", g.number)
}

func (r *Runtime) start(ctx context.Context, b *Built) {
	parts, err := r.setupParts(ctx, b)
	if err != nil {
		r.refuse(nil, b, err)
		return
	}
	g := r.prepare(b)
	g.deliverer.parts = parts
	g.mount()
	r.launch(g)
	r.opts.Logger.Info("pipeline started", "pipeline", b.Name(), "generation", g.number)
}

// refuse registers b as a pipeline that does not run (status shows why),
// in place of old if old is refused too.
func (r *Runtime) refuse(old *generation, b *Built, err error) {
	if old != nil {
		closeComponents(old.built)
	}
	g := r.prepare(b)
	g.setState("refused: " + err.Error())
	r.mu.Lock()
	r.running[g.name] = g
	r.mu.Unlock()
	r.opts.Logger.Error("pipeline refused", "pipeline", b.Name(), "error", err)
}

func (r *Runtime) stop(ctx context.Context, g *generation) {
	if g.route != nil {
		r.opts.Router.Remove(g.route)
		g.route = nil
	}
	g.stopSource()
	g.stopDelivery(ctx, r.opts.DrainTimeout)
	closeComponents(g.built)
	r.opts.Logger.Info("pipeline stopped", "pipeline", g.name, "generation", g.number)
}

// Shutdown stops every pipeline in flow order: all sources first (webhook
// routes removed, pollers stopped), then all deliveries drain within ctx.
func (r *Runtime) Shutdown(ctx context.Context) {
	r.applyLock.Lock()
	defer r.applyLock.Unlock()
	r.mu.Lock()
	gens := make([]*generation, 0, len(r.running))
	for _, g := range r.running {
		gens = append(gens, g)
	}
	r.running = map[string]*generation{}
	r.mu.Unlock()
	for _, g := range gens {
		if g.route != nil {
			r.opts.Router.Remove(g.route)
			g.route = nil
		}
	}
	for _, g := range gens {
		g.stopSource()
	}
	drain := r.opts.DrainTimeout
	if dl, ok := ctx.Deadline(); ok {
		drain = max(time.Until(dl), 0) // stopping the sources may have used it up
	}
	var wg sync.WaitGroup
	for _, g := range gens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.stopDelivery(ctx, drain)
			closeComponents(g.built)
		}()
	}
	wg.Wait()
}

// Resume clears a delivery pause (after 410 Gone) for a pipeline.
func (r *Runtime) Resume(ctx context.Context, name string) error {
	var b store.Batch
	_, _ = r.opts.Store.Value(ctx, name, PausedKey) // read before writing (see attempt)
	b.Delete(name, PausedKey)
	if err := r.opts.Store.Commit(ctx, &b); err != nil {
		return err
	}
	r.mu.Lock()
	g := r.running[name]
	r.mu.Unlock()
	if g != nil {
		select {
		case g.deliverer.resumed <- struct{}{}:
		default:
		}
	}
	return nil
}

// Counters returns the running totals of a pipeline name (created on first
// use, kept across generations).
func (r *Runtime) Counters(name string) *Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counters[name]
	if c == nil {
		c = &Counters{}
		r.counters[name] = c
	}
	return c
}

// wakeChan is the pipeline's "records stored" signal (storedSignal).
func (r *Runtime) wakeChan(name string) *storedSignal {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.wakes[name]
	if w == nil {
		w = newStoredSignal()
		r.wakes[name] = w
	}
	return w
}

// Wake tells a pipeline's deliverer that records were added to its queue
// from outside (a dead-letter replay).
func (r *Runtime) Wake(name string) {
	r.queueGauge(name).invalidate()
	r.wakeChan(name).Appended(0)
}

func closeComponents(b *Built) {
	var cs []any
	cs = append(cs, b.Source)
	for _, t := range b.Transforms {
		cs = append(cs, t)
	}
	cs = append(cs, b.Sink)
	for _, c := range cs {
		if cl, ok := c.(io.Closer); ok {
			_ = cl.Close()
		}
	}
}

var errStopped = errors.New("pipeline stopped")
