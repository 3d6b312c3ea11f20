package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/ratelog"
	"github.com/connectord/connectord/engine/store"
)

// PausedKey is the state key that persists a delivery pause (410 Gone), so a
// restart does not resume hammering a receiver that said it is gone.
const PausedKey = "delivery.paused"

// Window sizes of the deliverer. At most maxWindow records of a pipeline's
// queue are in memory, whatever the backlog; they keep their bodies while
// the window's bodies total at most bodyBudget bytes, the others have theirs
// re-read on dispatch. The rest of the queue stays on disk (see window.go
// for how keys beyond the window are reached without breaking per-key
// order).
const (
	readChunk  = 256
	bodyBudget = 16 << 20
	maxWindow  = 4096
	// maxEvicted bounds the keys remembered as evicted; when it is reached
	// the window stops evicting and waits for its heads instead.
	maxEvicted = 65536
	// rewindEvery rate-limits rescans of the queue.
	rewindEvery = time.Second
)

// deliverer moves one pipeline's queued events to its sink: up to
// MaxInFlight at once, one at a time per ordering key, in queue order per
// key, retrying on the persisted schedule and dead-lettering at the end.
// One scheduler goroutine owns all state below; a fixed pool of workers
// runs the attempts and reports back on results.
type deliverer struct {
	name     string
	store    store.Store
	sink     engine.Sink
	policy   engine.Policy
	clock    engine.Clock
	logger   *slog.Logger
	counters *Counters
	observer Observer
	queue    *queueGauge
	ep       *endpoint
	wake     *storedSignal // new records were stored
	resumed  chan struct{} // an operator cleared a pause
	epUp     chan struct{} // the endpoint came up
	parts    *parts        // the delivery partitions this replica holds
	changes  <-chan uint64 // another replica changed the queue (store.Watcher)
	watcher  store.Watcher // set when replicas share the store
	atStable bool          // reading stopped at the store's Stable Seq
	held     map[int]bool  // partitions as the window was last filled for
	gateWait bool          // a head waits for its partition lease to run long enough

	keys     map[string]*keyQueue
	freeKQ   []*keyQueue // emptied key queues for reuse (newKeyQueue)
	ready    keyHeap     // heads that may go now, by Seq
	waiting  keyHeap     // heads waiting for NextAttempt, by NextAttempt
	entries  int
	bodies   int // bytes of the bodies held in the window
	lastRead uint64
	more     bool // the queue may hold records we have not read
	readErr  bool // the last read failed: try again shortly
	// inflight counts Deliver calls running, bounded by MaxInFlight: the
	// scheduler adds, a worker subtracts as its Deliver returns, and wakes
	// the scheduler (freed) only when wantSlot says ready work waits for
	// a slot. Waking it for every freed slot cost a scheduler round per
	// event that mostly found nothing to do.
	inflight atomic.Int64
	wantSlot atomic.Bool
	pending  int // attempts not yet reported (delivering or committing)
	jobs     chan job
	workers  int
	results  chan attemptResult
	freed    chan struct{} // a slot was freed while wantSlot was set
	probeSeq uint64        // head Seq of the last probe: probes rotate over keys

	evict  evictions
	errLog ratelog.Limiter // store errors repeat: log them once per interval

	mu     sync.Mutex // guards status fields read by Status
	paused string
	status DeliveryStatus
}

// DeliveryStatus is a snapshot of a deliverer for the status API.
type DeliveryStatus struct {
	InFlight int    `json:"in_flight"`
	Waiting  int    `json:"waiting_retry"`
	Window   int    `json:"window"` // queued records held in memory
	Paused   string `json:"paused,omitempty"`
}

// job is one attempt handed to a worker.
type job struct {
	kq    *keyQueue
	rec   store.Record
	probe bool
}

func (d *deliverer) run(ctx, hardCtx context.Context) {
	d.keys = map[string]*keyQueue{}
	// A worker committing an outcome no longer holds a delivery slot, so
	// there are twice as many workers as slots; dispatch never has more
	// attempts pending than workers, so sending a job never waits for long.
	workers := 2 * d.policy.MaxInFlight
	d.workers = workers
	d.jobs = make(chan job)
	d.results = make(chan attemptResult, workers)
	d.freed = make(chan struct{}, 1)
	d.epUp = make(chan struct{}, 1)
	d.more = true
	d.evict.reset()
	d.ep.subscribe(d.epUp)
	defer d.ep.unsubscribe(d.epUp)
	if d.parts == nil {
		d.parts = newParts(1)
	}
	d.held = d.parts.snapshot()
	if w, ok := asWatcher(d.store); ok && d.parts.owner != nil {
		changes, stop := w.Watch(d.name)
		defer stop()
		d.changes, d.watcher = changes, w
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range d.jobs {
				d.attempt(hardCtx, j)
			}
		})
	}
	defer func() {
		close(d.jobs)
		wg.Wait()
	}()
	if v, err := d.store.Value(ctx, d.name, PausedKey); err == nil {
		d.setPaused(string(v))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// idleArmed: the timer is set for idleWait and has not fired, so an
	// idle loop need not set it again (each reset is a trip through the
	// runtime's timer heap, several per event).
	idleArmed := true
	for {
		if ctx.Err() != nil {
			d.drain()
			return
		}
		d.fill(ctx)
		d.promote()
		d.dispatch()
		d.publish()
		if d.wantSlot.Load() && d.inflight.Load() < int64(d.policy.MaxInFlight) {
			continue // a slot was freed after dispatch stopped for want of one
		}
		if wait := d.nextDue(); wait < idleWait || !idleArmed {
			resetTimer(timer, wait)
			idleArmed = wait >= idleWait
		}
		select {
		case res := <-d.results:
			d.handle(res)
		case <-d.freed:
		case <-d.wake.c:
			if d.wake.unread(d.lastRead) {
				d.more = true
			}
		case seq := <-d.changes:
			// Another replica's record may sort before what was read.
			d.lastRead = min(d.lastRead, max(seq, 1)-1)
			d.more = true
		case <-d.parts.changed:
			d.repartition(ctx)
		case <-d.epUp:
			d.releaseWaiting()
		case <-d.resumed:
			if _, err := d.store.Value(ctx, d.name, PausedKey); errors.Is(err, store.ErrNotFound) {
				d.setPaused("")
			}
		case <-timer.C:
			idleArmed = false
		case <-ctx.Done():
		}
	}
}

// drain waits for attempts in flight; hardCtx bounds them.
func (d *deliverer) drain() {
	for d.pending > 0 {
		d.handle(<-d.results)
	}
	d.publish()
}

// fill reads more of the queue when the scheduler is short of ready work.
func (d *deliverer) fill(ctx context.Context) {
	d.maybeRewind()
	if d.entries >= maxWindow && d.stalled() {
		d.evictWaiting()
	}
	d.atStable = false
	for d.more && d.entries < maxWindow && d.ready.Len()+d.pending < 2*d.policy.MaxInFlight {
		limit := min(readChunk, maxWindow-d.entries)
		recs, err := d.store.Pending(ctx, d.name, d.lastRead, limit)
		d.readErr = err != nil
		if err != nil {
			if ctx.Err() == nil {
				d.errLog.Log(d.logger, slog.LevelError, "reading queue; retrying in 1s", "error", err)
			}
			return
		}
		if len(recs) < limit {
			d.more = false
		}
		stable := uint64(math.MaxUint64)
		if d.watcher != nil {
			stable = d.watcher.Stable()
		}
		for _, r := range recs {
			if r.Seq > stable {
				// A record above Stable may be this replica's own while
				// another's earlier one of its key is not visible yet:
				// read it once the store has caught up to it.
				d.more, d.atStable = true, true
				return
			}
			d.lastRead = r.Seq
			d.add(r)
		}
		if len(recs) == 0 {
			return
		}
	}
}

// add takes a record read from the queue into the window, unless its key
// was evicted (its head is on disk: this record must wait behind it) or the
// window already holds it (a rescan re-reads what it has).
func (d *deliverer) add(r store.Record) {
	if !d.owns(&r) {
		return // another replica's: read again when this one gains it
	}
	key := r.Key
	if key == "" {
		key = fmt.Sprintf("\x00%d", r.Seq) // unordered: a key of its own
	}
	if d.evict.has(key) {
		return
	}
	kq := d.keys[key]
	if kq == nil {
		kq = d.newKeyQueue(key)
		d.keys[key] = kq
	} else if r.Seq <= kq.items[len(kq.items)-1].Seq {
		return
	}
	if d.bodies+len(r.Body) > bodyBudget {
		r.Body = nil // re-read on dispatch
	}
	d.bodies += len(r.Body)
	kq.items = append(kq.items, r)
	d.entries++
	if len(kq.items) == 1 {
		d.schedule(kq)
	}
}

// schedule puts an idle key's head into the ready or waiting heap.
func (d *deliverer) schedule(kq *keyQueue) {
	head := kq.items[0]
	if head.NextAttempt.After(d.clock.Now()) {
		kq.state = headWaiting
		d.waiting.push(heapItem{kq: kq, byTime: true})
		return
	}
	kq.state = headReady
	d.ready.push(heapItem{kq: kq})
}

// promote moves heads whose retry time has come to the ready heap. While
// the endpoint is down retry timers stand still: nothing is attempted, so
// nothing is counted; the probe decides when delivery resumes.
func (d *deliverer) promote() {
	if d.ep.isDown() {
		return
	}
	now := d.clock.Now()
	for d.waiting.Len() > 0 && !d.waiting.items[0].kq.items[0].NextAttempt.After(now) {
		it := d.waiting.pop()
		it.kq.state = headReady
		d.ready.push(heapItem{kq: it.kq})
	}
}

// releaseWaiting makes every waiting head due at once: the endpoint is back,
// so the backlog flows at full MaxInFlight instead of each event waiting
// out a timer set while the receiver was down. The persisted NextAttempt is
// left as it is; it is rewritten by the next attempt.
func (d *deliverer) releaseWaiting() {
	for d.waiting.Len() > 0 {
		it := d.waiting.pop()
		it.kq.items[0].NextAttempt = time.Time{}
		it.kq.state = headReady
		d.ready.push(heapItem{kq: it.kq})
	}
	d.evict.at = time.Time{}
}

// idleWait is nextDue's answer when nothing is due.
const idleWait = time.Hour

func (d *deliverer) nextDue() time.Duration {
	wait := idleWait
	if d.readErr {
		wait = time.Second
	}
	if d.ep.isDown() {
		if d.ready.Len()+d.waiting.Len() > 0 {
			wait = min(wait, d.ep.probeWait(d.clock.Now()))
		}
	} else if d.waiting.Len() > 0 {
		wait = min(wait, max(0, d.waiting.items[0].kq.items[0].NextAttempt.Sub(d.clock.Now())))
	}
	if w, ok := d.evict.due(d.clock.Now()); ok {
		wait = min(wait, w)
	}
	if d.gateWait {
		wait = min(wait, gateRecheck)
	}
	if d.atStable {
		wait = min(wait, stableRecheck)
	}
	return wait
}

func (d *deliverer) dispatch() {
	d.wantSlot.Store(false)
	if d.isPaused() {
		return
	}
	if d.ep.isDown() {
		d.dispatchProbe()
		return
	}
	d.gateWait = false
	var blocked []*keyQueue
	maxInFlight := int64(d.policy.MaxInFlight)
	for d.inflight.Load() < maxInFlight && d.pending < d.workers && d.ready.Len() > 0 {
		kq := d.ready.pop().kq
		if !d.parts.begin(d.parts.partitionOf(&kq.items[0])) {
			blocked = append(blocked, kq) // its lease would not outlast the attempt
			continue
		}
		d.send(kq, false)
	}
	for _, kq := range blocked {
		d.gateWait = true
		kq.state = headReady
		d.ready.push(heapItem{kq: kq})
	}
	if d.ready.Len() > len(blocked) && d.pending < d.workers {
		// Stopped for a slot. Set before the loop in run reads inflight
		// again, and a worker frees its slot before it reads wantSlot:
		// one of the two sees the other, so no freed slot goes unseen.
		d.wantSlot.Store(true)
	}
}

// slotFreed gives back an attempt's delivery slot (its Deliver returned).
func (d *deliverer) slotFreed() {
	d.inflight.Add(-1)
	if d.wantSlot.Load() {
		select {
		case d.freed <- struct{}{}:
		default: // a wake is pending already
		}
	}
}

// dispatchProbe sends one head while the endpoint is down, if the probe is
// due and no deliverer of the endpoint is probing. The probe is the head of
// the oldest key after the last probe's, so one poison object cannot keep
// a healthy endpoint marked down.
func (d *deliverer) dispatchProbe() {
	kq := d.probeCandidate()
	if kq == nil || d.pending >= d.workers {
		return
	}
	part := d.parts.partitionOf(&kq.items[0])
	if !d.parts.begin(part) {
		d.gateWait = true
		return
	}
	if ok, _ := d.ep.claimProbe(d.clock.Now()); !ok {
		d.parts.end(part)
		return
	}
	if kq.state == headReady {
		d.ready.remove(kq.index)
	} else {
		d.waiting.remove(kq.index)
	}
	d.probeSeq = kq.items[0].Seq
	d.send(kq, true)
}

func (d *deliverer) probeCandidate() *keyQueue {
	var best, first *keyQueue
	consider := func(h *keyHeap) {
		for _, it := range h.items {
			s := it.kq.items[0].Seq
			if first == nil || s < first.items[0].Seq {
				first = it.kq
			}
			if s > d.probeSeq && (best == nil || s < best.items[0].Seq) {
				best = it.kq
			}
		}
	}
	consider(&d.ready)
	consider(&d.waiting)
	if best == nil {
		return first
	}
	return best
}

func (d *deliverer) send(kq *keyQueue, probe bool) {
	kq.state = headInFlight
	d.inflight.Add(1)
	d.pending++
	d.jobs <- job{kq: kq, rec: kq.items[0], probe: probe}
}

func (d *deliverer) handle(res attemptResult) {
	d.pending--
	kq := res.kq
	kq.state = headIdle
	d.parts.end(d.parts.partitionOf(&res.rec))
	if kq.dropped {
		// Its partition was lost while the attempt ran: the new owner has
		// the key now. If the partition came back meanwhile, read it anew.
		d.forget(kq)
		if d.owns(&res.rec) {
			d.rewindAll()
		}
		return
	}
	now := d.clock.Now()
	switch {
	case res.aborted:
		if res.probe {
			d.ep.probeAborted()
		}
	case res.failure != nil && res.failure.Class == engine.Retry:
		if res.probe {
			d.ep.probeFailed(res.failure.Error(), res.failure.RetryAfter, now)
		} else if d.ep.failed(kq.key, res.failure.Error(), now) {
			d.logger.Warn("endpoint down: delivery paused, probing", "endpoint", d.ep.name, "error", res.failure.Error())
		}
	case !res.commitErr:
		if d.ep.answered(now) {
			d.logger.Info("endpoint up: delivering the backlog", "endpoint", d.ep.name)
		}
	}
	switch res.outcome {
	case outcomeDone, outcomePause:
		d.bodies -= len(kq.items[0].Body)
		kq.items[0] = store.Record{}
		if len(kq.items) == 1 {
			kq.items = kq.items[:0] // keeps the array for reuse
		} else {
			kq.items = kq.items[1:]
		}
		d.entries--
		if res.outcome == outcomePause {
			d.setPaused(res.rec.LastError)
		}
	case outcomeRetry, outcomeAborted:
		if kq.items[0].Body == nil {
			res.rec.Body = nil // re-read for the attempt: not counted, not kept
		}
		kq.items[0] = res.rec
	}
	if len(kq.items) == 0 {
		delete(d.keys, kq.key)
		d.freeKeyQueue(kq)
		return
	}
	d.schedule(kq)
}

// maxFreeKeyQueues bounds the emptied key queues kept for reuse.
const maxFreeKeyQueues = 256

// newKeyQueue is an empty key queue for key, reusing an emptied one (and
// its items array) when there is one: most keys hold one event, so a key
// queue and its array were two allocations per event.
func (d *deliverer) newKeyQueue(key string) *keyQueue {
	n := len(d.freeKQ)
	if n == 0 {
		return &keyQueue{key: key, index: -1}
	}
	kq := d.freeKQ[n-1]
	d.freeKQ[n-1] = nil
	d.freeKQ = d.freeKQ[:n-1]
	*kq = keyQueue{key: key, items: kq.items[:0], index: -1}
	return kq
}

// freeKeyQueue keeps kq, just emptied and referenced by nothing else (not
// in d.keys, in no heap, nothing in flight), for newKeyQueue.
func (d *deliverer) freeKeyQueue(kq *keyQueue) {
	if len(d.freeKQ) < maxFreeKeyQueues && cap(kq.items) <= 4 {
		d.freeKQ = append(d.freeKQ, kq)
	}
}

func (d *deliverer) setPaused(reason string) {
	d.mu.Lock()
	d.paused = reason
	d.mu.Unlock()
}

func (d *deliverer) isPaused() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paused != ""
}

func (d *deliverer) publish() {
	d.mu.Lock()
	d.status = DeliveryStatus{InFlight: int(d.inflight.Load()), Waiting: d.waiting.Len(), Window: d.entries, Paused: d.paused}
	d.mu.Unlock()
}

// Status returns the last published snapshot.
func (d *deliverer) Status() DeliveryStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}
