package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/cluster"
)

// generation is one running instance of a pipeline's configuration. A
// reload replaces a generation with the next; both share the pipeline's
// name, and so its queue, state and counters.
type generation struct {
	name      string
	number    uint64
	built     *Built
	started   time.Time
	host      *host
	deliverer *deliverer
	router    *Router
	route     *Route
	logger    *slog.Logger

	sourceCancel context.CancelFunc
	sourceDone   chan struct{}
	deliverStop  context.CancelFunc // stop dispatching new attempts
	deliverHard  context.CancelFunc // cancel attempts in flight
	deliverDone  chan struct{}

	mu    sync.Mutex
	state string
}

func (r *Runtime) prepare(b *Built) *generation {
	r.mu.Lock()
	r.nextGen++
	num := r.nextGen
	r.mu.Unlock()
	counters := r.Counters(b.Name())
	logger := r.opts.Logger.With("pipeline", b.Name())
	wake := r.wakeChan(b.Name())
	g := &generation{
		name:    b.Name(),
		number:  num,
		built:   b,
		started: r.opts.Clock.Now(),
		router:  r.opts.Router,
		logger:  logger,
		state:   "running",
	}
	g.host = &host{
		name:       b.Name(),
		kind:       b.Spec.Source.Kind,
		nameV:      b.Name(),
		kindV:      b.Spec.Source.Kind,
		transforms: b.Transforms,
		store:      r.opts.Store,
		clock:      r.opts.Clock,
		logger:     logger,
		counters:   counters,
		queue:      r.queueGauge(b.Name()),
		limit:      QueueLimit{Events: b.Spec.Queue.MaxEvents, Bytes: b.Spec.Queue.MaxBytes},
		stored:     wake,
	}
	epName := "pipeline " + b.Name()
	if es, ok := b.Sink.(engine.EndpointSink); ok {
		epName = es.Endpoint()
	}
	g.deliverer = &deliverer{
		name:     b.Name(),
		store:    r.opts.Store,
		sink:     b.Sink,
		policy:   b.Policy,
		clock:    r.opts.Clock,
		logger:   logger,
		counters: counters,
		observer: r.opts.Observer,
		queue:    r.queueGauge(b.Name()),
		ep:       r.endpoints.get(epName),
		wake:     wake,
		resumed:  make(chan struct{}, 1),
	}
	return g
}

// mount puts an HTTP source's handler on the router.
func (g *generation) mount() {
	if hs, ok := g.built.Source.(engine.HTTPSource); ok {
		g.route = g.router.Set(hs.Path(), hs.Handler(g.host))
	}
}

// launch starts delivery and the source, and registers the generation.
func (r *Runtime) launch(g *generation) {
	dctx, stop := context.WithCancel(context.Background())
	hctx, hard := context.WithCancel(context.Background())
	g.deliverStop, g.deliverHard = stop, hard
	g.deliverDone = make(chan struct{})
	if g.deliverer.parts == nil {
		g.deliverer.parts = newParts(cluster.DefaultPartitions)
	}
	// The partition leases are kept until delivery has drained: released
	// earlier, a new owner could start an object's next event while this
	// replica's attempt of the one before is still in flight.
	pctx, pstop := context.WithCancel(context.Background())
	partsDone := make(chan struct{})
	go func() {
		defer close(partsDone)
		g.deliverer.parts.run(pctx)
	}()
	go func() {
		defer close(g.deliverDone)
		defer func() { pstop(); <-partsDone }()
		g.deliverer.run(dctx, hctx)
	}()

	sctx, cancel := context.WithCancel(context.Background())
	g.sourceCancel = cancel
	g.sourceDone = make(chan struct{})
	go func() {
		defer close(g.sourceDone)
		if _, ok := g.built.Source.(engine.Poller); ok {
			g.runLeader(sctx, r.opts.Coordinator, r.opts.ReplicaID)
			return
		}
		g.runSource(sctx)
	}()

	r.mu.Lock()
	r.running[g.name] = g
	r.mu.Unlock()
}

// runSource runs the source and restarts it with backoff if it fails: a
// source error (an API outage, a revoked token) never stops the daemon, and
// is visible in status until the source recovers.
func (g *generation) runSource(ctx context.Context) {
	backoff := time.Second
	for {
		start := time.Now()
		err := runGuarded(func() error { return g.built.Source.Run(ctx, g.host) })
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errStopped
		}
		g.setState("source failed: " + err.Error())
		g.host.ReportError(err)
		g.logger.Error("source failed; restarting", "error", err, "in", backoff)
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, time.Minute)
		g.setState("running")
	}
}

// runLeader runs a poller only while this replica holds the pipeline's
// poll lease, so that across replicas one polls at a time. When the lease
// is lost (not renewed in time, taken over) the source's context is
// cancelled at once and the replica waits to acquire it again; when ctx
// ends (a clean stop, a reload) the lease is released, so another replica
// or the next generation takes over at once.
func (g *generation) runLeader(ctx context.Context, c cluster.Coordinator, replica string) {
	name := PollLease(g.name)
	for {
		h, err := cluster.Hold(ctx, c, name, replica, cluster.HoldOptions{})
		if err != nil {
			return // ctx ended while waiting
		}
		g.logger.Info("poll lease acquired; polling", "lease", name, "replica", replica)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-h.Lost():
				cancel()
			case <-lctx.Done():
			}
		}()
		g.runSource(lctx)
		cancel()
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = h.Release(rctx)
		rcancel()
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, cluster.ErrLost) {
				g.logger.Warn("releasing the poll lease", "lease", name, "error", err)
			}
			return
		}
		g.logger.Warn("poll lease lost; source stopped until this replica holds it again", "lease", name, "replica", replica)
	}
}

func (g *generation) stopSource() {
	if g.sourceCancel == nil {
		return
	}
	g.sourceCancel()
	<-g.sourceDone
}

// stopDelivery stops dispatching, lets attempts in flight finish for up to
// drain, then cancels them (a cancelled attempt does not count).
func (g *generation) stopDelivery(ctx context.Context, drain time.Duration) {
	if g.deliverStop == nil {
		return
	}
	g.deliverStop()
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-g.deliverDone:
	case <-t.C:
		g.logger.Warn("drain timed out; cancelling deliveries in flight", "after", drain)
		g.deliverHard()
		<-g.deliverDone
	case <-ctx.Done():
		g.deliverHard()
		<-g.deliverDone
	}
	g.deliverHard()
}

// refused reports a generation registered without running (refuse).
func (g *generation) refused() bool { return g.deliverDone == nil }

func (g *generation) setState(s string) {
	g.mu.Lock()
	g.state = s
	g.mu.Unlock()
}

func (g *generation) getState() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// runGuarded runs fn and turns a panic into an error: a bug in one
// component fails that pipeline's work (retried, dead-lettered or
// restarted), never the daemon and the other pipelines.
func runGuarded(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}
