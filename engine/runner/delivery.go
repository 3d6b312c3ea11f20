package runner

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/store"
)

// PausedKey is the state key that persists a delivery pause (410 Gone), so a
// restart does not resume hammering a receiver that said it is gone.
const PausedKey = "delivery.paused"

// Window sizes of the deliverer. Records beyond bodyWindow keep only their
// header in memory (~100 bytes) and have their body re-read on dispatch; at
// most maxWindow headers are held, so memory stays bounded under any backlog
// while an object waiting for a retry does not hold up the objects behind it.
const (
	readChunk  = 256
	bodyWindow = 1024
	maxWindow  = 100_000
)

// deliverer moves one pipeline's queued events to its sink: up to
// MaxInFlight at once, one at a time per ordering key, in queue order per
// key, retrying on the persisted schedule and dead-lettering at the end.
// One scheduler goroutine owns all state below; attempts run in their own
// goroutines and report back on results.
type deliverer struct {
	name     string
	store    store.Store
	sink     engine.Sink
	policy   engine.Policy
	clock    engine.Clock
	logger   *slog.Logger
	counters *Counters
	observer Observer
	wake     chan struct{} // new records were stored
	resumed  chan struct{} // an operator cleared a pause

	keys     map[string]*keyQueue
	ready    keyHeap // heads that may go now, by Seq
	waiting  keyHeap // heads waiting for NextAttempt, by NextAttempt
	entries  int
	lastRead uint64
	more     bool // the queue may hold records we have not read
	readErr  bool // the last read failed: try again shortly
	inflight int  // Deliver calls running: bounded by MaxInFlight
	pending  int  // attempts not yet reported (delivering or committing)
	results  chan attemptResult
	freed    chan struct{} // an attempt's Deliver returned: its slot is free

	mu     sync.Mutex // guards status fields read by Status
	paused string
	status DeliveryStatus
}

// DeliveryStatus is a snapshot of a deliverer for the status API.
type DeliveryStatus struct {
	InFlight int    `json:"in_flight"`
	Waiting  int    `json:"waiting_retry"`
	Paused   string `json:"paused,omitempty"`
}

type keyQueue struct {
	key   string
	items []store.Record // in Seq order; items[0] is the head
	state headState
	index int // position in ready or waiting heap
}

type headState uint8

const (
	idle headState = iota
	queuedReady
	queuedWaiting
	inFlight
)

type outcome uint8

const (
	done    outcome = iota // acked or dead-lettered: pop the head
	retry                  // head stays, NextAttempt updated
	pause                  // dead-lettered with 410: pop the head and pause
	aborted                // shutdown interrupted it: head stays, due now
)

type attemptResult struct {
	kq      *keyQueue
	outcome outcome
	rec     store.Record
}

func (d *deliverer) run(ctx, hardCtx context.Context) {
	d.keys = map[string]*keyQueue{}
	d.results = make(chan attemptResult)
	d.freed = make(chan struct{})
	d.more = true
	if v, err := d.store.Value(ctx, d.name, PausedKey); err == nil {
		d.setPaused(string(v))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			d.drain()
			return
		}
		d.fill(ctx)
		d.promote()
		d.dispatch(hardCtx)
		d.publish()
		resetTimer(timer, d.nextDue())
		select {
		case res := <-d.results:
			d.handle(res)
		case <-d.freed:
			d.inflight--
		case <-d.wake:
			d.more = true
		case <-d.resumed:
			if _, err := d.store.Value(ctx, d.name, PausedKey); errors.Is(err, store.ErrNotFound) {
				d.setPaused("")
			}
		case <-timer.C:
		case <-ctx.Done():
		}
	}
}

// drain waits for attempts in flight; hardCtx bounds them.
func (d *deliverer) drain() {
	for d.pending > 0 {
		select {
		case res := <-d.results:
			d.handle(res)
		case <-d.freed:
			d.inflight--
		}
	}
	d.publish()
}

// fill reads more of the queue when the scheduler is short of ready work.
func (d *deliverer) fill(ctx context.Context) {
	for d.more && d.entries < maxWindow && d.ready.Len()+d.pending < 2*d.policy.MaxInFlight {
		recs, err := d.store.Pending(ctx, d.name, d.lastRead, readChunk)
		d.readErr = err != nil
		if err != nil {
			if ctx.Err() == nil {
				d.logger.Error("reading queue; retrying in 1s", "error", err)
			}
			return
		}
		if len(recs) < readChunk {
			d.more = false
		}
		for _, r := range recs {
			d.lastRead = r.Seq
			if d.entries >= bodyWindow {
				r.Body = nil // re-read on dispatch
			}
			d.add(r)
		}
		if len(recs) == 0 {
			return
		}
	}
}

func (d *deliverer) add(r store.Record) {
	key := r.Key
	if key == "" {
		key = fmt.Sprintf("\x00%d", r.Seq) // unordered: a key of its own
	}
	kq := d.keys[key]
	if kq == nil {
		kq = &keyQueue{key: key, index: -1}
		d.keys[key] = kq
	}
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
		kq.state = queuedWaiting
		heap.Push(&d.waiting, heapItem{kq: kq, byTime: true})
		return
	}
	kq.state = queuedReady
	heap.Push(&d.ready, heapItem{kq: kq})
}

// promote moves heads whose retry time has come to the ready heap.
func (d *deliverer) promote() {
	now := d.clock.Now()
	for d.waiting.Len() > 0 && !d.waiting.items[0].kq.items[0].NextAttempt.After(now) {
		it := heap.Pop(&d.waiting).(heapItem)
		it.kq.state = queuedReady
		heap.Push(&d.ready, heapItem{kq: it.kq})
	}
}

func (d *deliverer) nextDue() time.Duration {
	if d.readErr {
		return time.Second
	}
	if d.waiting.Len() == 0 {
		return time.Hour
	}
	wait := d.waiting.items[0].kq.items[0].NextAttempt.Sub(d.clock.Now())
	if wait < 0 {
		return 0
	}
	return wait
}

func (d *deliverer) dispatch(hardCtx context.Context) {
	if d.isPaused() {
		return
	}
	for d.inflight < d.policy.MaxInFlight && d.ready.Len() > 0 {
		kq := heap.Pop(&d.ready).(heapItem).kq
		kq.state = inFlight
		d.inflight++
		d.pending++
		go d.attempt(hardCtx, kq, kq.items[0])
	}
}

func (d *deliverer) handle(res attemptResult) {
	d.pending--
	kq := res.kq
	kq.state = idle
	switch res.outcome {
	case done, pause:
		kq.items[0] = store.Record{}
		kq.items = kq.items[1:]
		d.entries--
		if res.outcome == pause {
			d.setPaused(res.rec.LastError)
		}
	case retry, aborted:
		kq.items[0] = res.rec
	}
	if len(kq.items) == 0 {
		delete(d.keys, kq.key)
		return
	}
	d.schedule(kq)
}

// attempt delivers rec once and commits the outcome before reporting it, so
// a crash after a 2xx at worst redelivers (same eventId), and a crash after
// a failure keeps the attempt count and schedule. Its delivery slot is
// freed as soon as Deliver returns: committing the outcome is not a request
// to the receiver, and the key stays busy until the outcome is committed.
func (d *deliverer) attempt(ctx context.Context, kq *keyQueue, rec store.Record) {
	res := attemptResult{kq: kq, rec: rec}
	slotFreed := false
	freeSlot := func() {
		if !slotFreed {
			slotFreed = true
			d.freed <- struct{}{}
		}
	}
	defer func() {
		freeSlot()
		d.results <- res
	}()

	if rec.Body == nil {
		full, err := d.store.Get(ctx, d.name, rec.Seq)
		if err != nil {
			res.outcome = d.commitFailed(&res, fmt.Errorf("re-reading event: %w", err))
			return
		}
		rec.Body = full.Body
	}
	err := runGuarded(func() error {
		return d.sink.Deliver(ctx, engine.Delivery{ID: rec.ID, Key: rec.Key, Body: rec.Body, Stored: rec.Stored, Attempt: rec.Attempts + 1})
	})
	freeSlot()
	now := d.clock.Now()
	var b store.Batch
	switch {
	case err == nil:
		b.Ack(d.name, rec.Seq)
		res.outcome = done
	case ctx.Err() != nil:
		// Shutdown cut the attempt short; it does not count.
		res.outcome = aborted
		return
	default:
		de := engine.ClassOf(err)
		rec.Attempts++
		rec.LastError = de.Error()
		if d.observer != nil {
			d.observer.Failed(d.name, de.Class, de.Status)
		}
		d.counters.setError(fmt.Sprintf("event %s: %s", rec.ID, de.Error()), now)
		if de.Class == engine.Retry && rec.Attempts < d.policy.Retry.MaxAttempts {
			delay := de.RetryAfter
			if delay <= 0 {
				delay = d.policy.Retry.Delay(rec.Attempts)
			}
			rec.NextAttempt = now.Add(delay)
			b.Update(d.name, rec)
			res.outcome = retry
			d.logger.Warn("delivery failed, will retry", "id", rec.ID, "attempt", rec.Attempts, "retry_in", delay.Round(time.Millisecond), "error", de.Error())
		} else {
			b.DeadLetter(d.name, store.DeadLetter{
				Record: store.Record{Seq: rec.Seq, ID: rec.ID, Key: rec.Key, Body: rec.Body, Stored: rec.Stored, Attempts: rec.Attempts, LastError: rec.LastError},
				Stage:  "deliver", Status: de.Status, Error: de.Error(), Response: de.Response, Died: now,
			})
			res.outcome = done
			if de.Class == engine.Gone {
				res.outcome = pause
				reason := fmt.Sprintf("receiver answered 410 Gone at %s; delivery paused until `connectord dlq replay` or `connectord resume`", now.UTC().Format(time.RFC3339))
				rec.LastError = reason
				b.Put(d.name, PausedKey, []byte(reason))
			}
			d.logger.Warn("event dead-lettered", "id", rec.ID, "attempts", rec.Attempts, "class", de.Class.String(), "error", de.Error())
		}
	}
	res.rec = rec
	if cerr := d.store.Commit(ctx, &b); cerr != nil {
		res.outcome = d.commitFailed(&res, cerr)
		return
	}
	switch {
	case err == nil:
		d.counters.Delivered.Add(1)
		if d.observer != nil {
			d.observer.Delivered(d.name, now.Sub(rec.Stored))
		}
	case res.outcome == retry:
		d.counters.Retried.Add(1)
	default:
		d.counters.DeadLettered.Add(1)
	}
}

// commitFailed keeps the event queued when the store could not record an
// outcome: it is retried shortly rather than lost or acked in memory only.
func (d *deliverer) commitFailed(res *attemptResult, err error) outcome {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) {
		d.logger.Error("recording delivery outcome", "id", res.rec.ID, "error", err)
	}
	res.rec.NextAttempt = d.clock.Now().Add(time.Second)
	return retry
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
	d.status = DeliveryStatus{InFlight: d.inflight, Waiting: d.waiting.Len(), Paused: d.paused}
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

// keyHeap orders key queues by their head's Seq (ready) or NextAttempt
// (waiting).
type keyHeap struct{ items []heapItem }

type heapItem struct {
	kq     *keyQueue
	byTime bool
}

func (h *keyHeap) Len() int { return len(h.items) }
func (h *keyHeap) Less(i, j int) bool {
	a, b := h.items[i].kq.items[0], h.items[j].kq.items[0]
	if h.items[i].byTime && !a.NextAttempt.Equal(b.NextAttempt) {
		return a.NextAttempt.Before(b.NextAttempt)
	}
	return a.Seq < b.Seq
}
func (h *keyHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].kq.index, h.items[j].kq.index = i, j
}
func (h *keyHeap) Push(x any) {
	it := x.(heapItem)
	it.kq.index = len(h.items)
	h.items = append(h.items, it)
}
func (h *keyHeap) Pop() any {
	n := len(h.items)
	it := h.items[n-1]
	h.items = h.items[:n-1]
	it.kq.index = -1
	return it
}
