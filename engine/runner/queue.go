package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/store"
)

// queueGauge is a pipeline's queue size, kept across generations: events
// and body bytes. It is counted from the store when the pipeline first
// starts (and again after an outside change, such as a replay or a purge),
// then kept in step by emits and delivery outcomes. Emit checks the limits
// against it; it is a guard, so an estimate a few events off is fine, but
// it never lets a commit through that it knows would pass the limit.
type queueGauge struct {
	mu     sync.Mutex
	events int64
	bytes  int64
	synced bool
	stale  bool // an outside change: count again before the next check
	// maxAge, when set, recounts a count older than that: with replicas
	// sharing the store, others take in and deliver this queue's events
	// too, so the local bookkeeping drifts.
	maxAge   time.Duration
	syncedAt time.Time
}

// QueueLimit bounds a pipeline's queue; zero fields are unlimited.
type QueueLimit struct {
	Events int64
	Bytes  int64
}

func (q *queueGauge) removed(o outcome, rec store.Record) {
	if o != outcomeDone && o != outcomePause {
		return
	}
	q.mu.Lock()
	q.events--
	q.bytes -= int64(len(rec.Body))
	q.mu.Unlock()
}

func (q *queueGauge) added(events, bytes int64) {
	q.mu.Lock()
	q.events += events
	q.bytes += bytes
	q.mu.Unlock()
}

func (q *queueGauge) invalidate() {
	q.mu.Lock()
	q.stale = true
	q.mu.Unlock()
}

// snapshot returns the current size, counting it from st first if needed.
func (q *queueGauge) snapshot(ctx context.Context, st store.Store, pipeline string) (events, bytes int64, err error) {
	q.mu.Lock()
	ok := q.synced && !q.stale && (q.maxAge == 0 || time.Since(q.syncedAt) < q.maxAge)
	events, bytes = q.events, q.bytes
	q.mu.Unlock()
	if ok {
		return events, bytes, nil
	}
	events, bytes, err = countQueue(ctx, st, pipeline)
	if err != nil {
		return 0, 0, err
	}
	q.mu.Lock()
	q.events, q.bytes, q.synced, q.stale, q.syncedAt = events, bytes, true, false, time.Now()
	q.mu.Unlock()
	return events, bytes, nil
}

func countQueue(ctx context.Context, st store.Store, pipeline string) (events, bytes int64, err error) {
	var after uint64
	for {
		recs, err := st.Pending(ctx, pipeline, after, 1024)
		if err != nil {
			return 0, 0, fmt.Errorf("counting queue: %w", err)
		}
		for _, r := range recs {
			events++
			bytes += int64(len(r.Body))
			after = r.Seq
		}
		if len(recs) < 1024 {
			return events, bytes, nil
		}
	}
}

// check says whether appending events of bytes more fits within limit.
func (q *queueGauge) check(ctx context.Context, st store.Store, pipeline string, limit QueueLimit, events, bytes int64) error {
	if limit.Events <= 0 && limit.Bytes <= 0 {
		return nil
	}
	have, size, err := q.snapshot(ctx, st, pipeline)
	if err != nil {
		return err
	}
	if limit.Events > 0 && have+events > limit.Events {
		return fmt.Errorf("%w: %d events queued, max_queue_events is %d", engine.ErrQueueFull, have, limit.Events)
	}
	if limit.Bytes > 0 && size+bytes > limit.Bytes {
		return fmt.Errorf("%w: %d bytes queued, max_queue_bytes is %d", engine.ErrQueueFull, size, limit.Bytes)
	}
	return nil
}

// QueueSize reports a pipeline's queued events and bytes as the runtime
// counts them (for metrics and status).
func (r *Runtime) QueueSize(name string) (events, bytes int64) {
	q := r.queueGauge(name)
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.events, q.bytes
}

func (r *Runtime) queueGauge(name string) *queueGauge {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queues[name]
	if q == nil {
		q = &queueGauge{}
		if r.opts.SharedDelivery {
			q.maxAge = sharedRecount
		}
		r.queues[name] = q
	}
	return q
}

// sharedRecount is how old a queue count may get when replicas share the
// store (see queueGauge.maxAge).
const sharedRecount = time.Second
