package cluster

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Held is a lease kept renewed in the background until it is released or
// lost.
type Held struct {
	c      Coordinator
	margin time.Duration
	now    func() time.Time
	stop   context.CancelFunc
	done   chan struct{} // the renew loop ended
	lost   chan struct{} // closed when the lease is lost (not on Release)

	renewEvery time.Duration
	since      time.Time // when it was acquired

	mu         sync.Mutex
	lease      Lease
	validUntil time.Time
	unsure     bool // the last renew failed: the grant may be newer than lease
}

// HoldOptions tune Hold; zero values take the defaults.
type HoldOptions struct {
	// Margin is how long before the TTL runs out, counted from the start of
	// the last successful renew, the holder stops starting work (default
	// TTL/5). It covers clock drift and the time a request takes.
	Margin time.Duration
	// Retry is the pause between attempts while another replica holds
	// the lease (default TTL/5).
	Retry time.Duration
	// Renew is the pause between renewals (default TTL/3). A holder that
	// must see a long validity ahead at any moment (a delivery owner
	// starting attempts of a sink timeout) renews more often.
	Renew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Hold acquires name for holder — waiting while another replica holds it —
// and keeps it renewed every TTL/3 until ctx ends or Release. It returns
// once the lease is held, or ctx's error.
func Hold(ctx context.Context, c Coordinator, name, holder string, o HoldOptions) (*Held, error) {
	o = o.withDefaults(c.TTL())
	var changed <-chan struct{} // the lease was written or removed (Waker)
	for {
		h, err := TryHold(ctx, c, name, holder, o)
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, ErrHeld) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if w, ok := c.(Waker); ok && changed == nil && errors.Is(err, ErrHeld) {
			// Told of a release at once, instead of up to Retry (TTL/5:
			// 3 s at the default TTL) later; Retry stays the fallback.
			if ch, stop, werr := w.Wake(ctx, name); werr == nil {
				defer stop()
				changed = ch
			}
		}
		wait := o.Retry
		if until, ok := HeldUntil(err); ok {
			// Try again as the other grant runs out, not up to Retry later.
			wait = min(wait, max(time.Until(until)+heldSlack, heldSlack))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		case <-changed:
			t.Stop()
		}
	}
}

// Waker is a Coordinator that tells a replica waiting for a lease when its
// grant is written or removed, so that Hold asks again at once: a clean
// stop then hands over in a round trip, whatever the TTL.
type Waker interface {
	// Wake signals the channel (one slot) whenever name's grant changes,
	// until stop is called.
	Wake(ctx context.Context, name string) (changes <-chan struct{}, stop func(), err error)
}

// heldSlack is how long after another's grant runs out a waiting replica
// asks for it: the coordinator's clock decides, and the request should not
// arrive a hair early.
const heldSlack = 20 * time.Millisecond

// TryHold is Hold with one attempt: ErrHeld (or the coordinator's error)
// if the lease cannot be had now.
func TryHold(ctx context.Context, c Coordinator, name, holder string, o HoldOptions) (*Held, error) {
	o = o.withDefaults(c.TTL())
	start := o.Now()
	l, err := c.Acquire(ctx, name, holder)
	if err != nil {
		return nil, err
	}
	h := &Held{c: c, margin: o.Margin, now: o.Now, lease: l, validUntil: start.Add(c.TTL() - o.Margin),
		renewEvery: o.Renew, since: start, done: make(chan struct{}), lost: make(chan struct{})}
	var rctx context.Context
	rctx, h.stop = context.WithCancel(context.WithoutCancel(ctx))
	go h.renew(rctx, ctx.Done())
	return h, nil
}

func (o HoldOptions) withDefaults(ttl time.Duration) HoldOptions {
	if o.Margin <= 0 {
		o.Margin = ttl / 5
	}
	if o.Retry <= 0 {
		o.Retry = ttl / 5
	}
	if o.Renew <= 0 || o.Renew > ttl/3 {
		o.Renew = ttl / 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// renew keeps the lease until stopped (Release) or parent ends (then the
// lease is left to expire: a crash looks the same to the others).
func (h *Held) renew(ctx context.Context, parent <-chan struct{}) {
	defer close(h.done)
	every := h.renewEvery
	t := time.NewTimer(every)
	defer t.Stop()
	// expiry fires when the validity runs out without a successful renew
	// (the coordinator unreachable, or a renew stuck while the bucket
	// elects a leader): the lease is lost then, not when the renew
	// returns, so Lost never lags Valid.
	expiry := time.NewTimer(h.untilInvalid())
	defer expiry.Stop()
	var (
		results chan renewResult // the renew in flight; nil: none
		cancel  = func() {}      // ends the renew in flight
	)
	released := false
	defer func() {
		if results == nil {
			return
		}
		cancel()
		if released {
			// The coordinator may have applied the renew cancelled
			// here: applyRenew marks the grant unsure and Release
			// asks for the latest one. Waiting for the renew instead
			// held a clean stop up by as much as the renew's deadline
			// under load.
			h.applyRenew(<-results)
			return
		}
		// parent ended with a renew in flight: the lease is left to
		// expire, but a Release may follow (a replica's member lease at
		// shutdown), and the renew may have moved the grant on. Not
		// waiting for its answer: a stuck renew must not hold that up.
		h.mu.Lock()
		h.unsure = true
		h.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			released = true
			return
		case <-parent:
			return
		case <-expiry.C:
			if !h.Valid() {
				h.markLost()
				return
			}
			expiry.Reset(h.untilInvalid())
		case <-t.C:
			// Each renew ends by the lease's validity at the latest:
			// past it the lease is lost whatever the answer.
			h.mu.Lock()
			cur, deadline := h.lease, h.validUntil
			h.mu.Unlock()
			rctx, stop := context.WithDeadline(ctx, deadline)
			cancel = stop
			results = make(chan renewResult, 1)
			go func(rs chan<- renewResult) {
				start := h.now()
				l, err := h.c.Renew(rctx, cur)
				rs <- renewResult{l: l, err: err, start: start}
			}(results)
		case res := <-results:
			cancel()
			results = nil
			switch lost := h.applyRenew(res); {
			case lost:
				h.markLost()
				return
			case res.err == nil:
				expiry.Reset(h.untilInvalid())
			case !h.Valid():
				// A failing coordinator: once the lease may have
				// expired, it is lost whatever the coordinator says
				// later.
				h.markLost()
				return
			}
			t.Reset(every)
		}
	}
}

type renewResult struct {
	l     Lease
	err   error
	start time.Time
}

// applyRenew takes a renew's answer: a new grant extends the validity from
// the renew's start. It reports whether the coordinator said the lease is
// lost.
//
// A renew that failed otherwise may still have been applied by the
// coordinator (its answer lost, or cancelled by Release): the grant is
// unsure until a renew succeeds. Marking it here, not only where Release
// cancels a renew, covers the renew loop taking a cancelled renew's answer
// before it sees its own stop (the CI flake of TestReleaseDuringRenew).
func (h *Held) applyRenew(r renewResult) (lost bool) {
	if errors.Is(r.err, ErrLost) {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.err != nil {
		h.unsure = true
		return false
	}
	if h.validUntil.IsZero() {
		return false // lost meanwhile: a late grant does not revive it
	}
	h.lease, h.validUntil, h.unsure = r.l, r.start.Add(h.c.TTL()-h.margin), false
	return false
}

func (h *Held) markLost() {
	h.mu.Lock()
	h.validUntil = time.Time{}
	h.mu.Unlock()
	close(h.lost)
}

// Valid reports whether the holder may start a piece of work now: the
// lease is held and its TTL minus the margin has not run out since the
// start of the last successful renew.
func (h *Held) Valid() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now().Before(h.validUntil)
}

// ValidFor reports whether the holder may start a piece of work that may
// last d: the validity Valid checks runs for at least d more.
func (h *Held) ValidFor(d time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now().Add(d).Before(h.validUntil)
}

// Since is when the lease was acquired.
func (h *Held) Since() time.Time { return h.since }

func (h *Held) untilInvalid() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(0, h.validUntil.Sub(h.now()))
}

// Lease is the current grant.
func (h *Held) Lease() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// Lost is closed when the lease is lost (expired and taken, or the
// coordinator unreachable past its validity). Release does not close it.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Release stops renewing and gives the lease up at once.
func (h *Held) Release(ctx context.Context) error {
	h.stop()
	<-h.done
	select {
	case <-h.lost:
		return ErrLost
	default:
	}
	h.mu.Lock()
	l, unsure := h.lease, h.unsure
	h.validUntil = time.Time{}
	h.mu.Unlock()
	err := h.c.Release(ctx, l)
	if errors.Is(err, ErrLost) && unsure {
		// A renew cut short by this Release may have moved the grant
		// on (TestReleaseDuringRenew): asked again by its holder, the
		// coordinator answers with the latest one, if it is still
		// this holder's, and that one is given up.
		cur, aerr := h.c.Acquire(ctx, l.Name, l.Holder)
		if aerr != nil {
			return ErrLost
		}
		return h.c.Release(ctx, cur)
	}
	return err
}
