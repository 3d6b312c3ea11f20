package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/store"
)

// outcome is what one attempt did to its key queue's head.
type outcome uint8

const (
	outcomeDone    outcome = iota // acked or dead-lettered: pop the head
	outcomeRetry                  // head stays, NextAttempt updated
	outcomePause                  // dead-lettered with 410: pop the head and pause
	outcomeAborted                // shutdown interrupted it: head stays, due now
)

type attemptResult struct {
	kq      *keyQueue
	outcome outcome
	rec     store.Record
	probe   bool
	// failure is the classified error of a failed Deliver, nil on success.
	failure *engine.DeliveryError
	// aborted: no answer (shutdown, or the body could not be re-read).
	aborted bool
	// commitErr: the outcome could not be recorded; it says nothing of the
	// endpoint.
	commitErr bool
}

// attempt delivers rec once and commits the outcome before reporting it, so
// a crash after a 2xx at worst redelivers (same eventId), and a crash after
// a failure keeps the attempt count and schedule. Its delivery slot is
// freed as soon as Deliver returns: committing the outcome is not a request
// to the receiver, and the key stays busy until the outcome is committed.
//
// A probe (the endpoint is down) that fails with a retryable error is not
// counted and nothing is written: it tested the endpoint, not the event.
func (d *deliverer) attempt(ctx context.Context, j job) {
	kq, rec := j.kq, j.rec
	res := attemptResult{kq: kq, rec: rec, probe: j.probe}
	slotFreed := false
	freeSlot := func() {
		if !slotFreed {
			slotFreed = true
			d.slotFreed()
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
			res.aborted = true
			return
		}
		rec.Body = full.Body
	}
	err := runGuarded(func() error {
		return d.sink.Deliver(ctx, engine.Delivery{ID: rec.ID, Key: rec.Key, Body: rec.Body, Stored: rec.Stored, Attempt: rec.Attempts + 1})
	})
	freeSlot()
	now := d.clock.Now()
	b := newBatch(1) // an ack; a failure's update or dead letter (and pause key)
	switch {
	case err == nil:
		b.Ack(d.name, rec.Seq)
		res.outcome = outcomeDone
	case ctx.Err() != nil:
		// Shutdown cut the attempt short; it does not count.
		res.outcome = outcomeAborted
		res.aborted = true
		return
	default:
		de := engine.ClassOf(err)
		res.failure = de
		if j.probe && de.Class == engine.Retry {
			res.outcome = outcomeRetry
			if d.observer != nil {
				d.observer.Failed(d.name, de.Class, de.Status)
			}
			d.counters.setError(fmt.Sprintf("endpoint probe with event %s: %s", rec.ID, de.Error()), now)
			return
		}
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
			res.outcome = outcomeRetry
			d.logger.Warn("delivery failed, will retry", "id", rec.ID, "attempt", rec.Attempts, "retry_in", delay.Round(time.Millisecond), "error", de.Error())
		} else {
			b.DeadLetter(d.name, store.DeadLetter{
				Record: store.Record{Seq: rec.Seq, ID: rec.ID, Key: rec.Key, Body: rec.Body, Stored: rec.Stored, Attempts: rec.Attempts, LastError: rec.LastError},
				Stage:  "deliver", Status: de.Status, Error: de.Error(), Response: de.Response, Died: now,
			})
			res.outcome = outcomeDone
			if de.Class == engine.Gone {
				res.outcome = outcomePause
				reason := fmt.Sprintf("receiver answered 410 Gone at %s; delivery paused until `connectord dlq replay` or `connectord resume`", now.UTC().Format(time.RFC3339))
				rec.LastError = reason
				// Read before writing: a store shared by replicas fences a
				// key write against the key as this replica last read it,
				// and another replica may have paused (or resumed) since.
				_, _ = d.store.Value(ctx, d.name, PausedKey)
				b.Put(d.name, PausedKey, []byte(reason))
			}
			d.logger.Warn("event dead-lettered", "id", rec.ID, "attempts", rec.Attempts, "class", de.Class.String(), "error", de.Error())
		}
	}
	res.rec = rec
	if cerr := d.commit(ctx, b, err == nil); cerr != nil {
		res.outcome = d.commitFailed(&res, cerr)
		res.commitErr = true
		return
	}
	d.queue.removed(res.outcome, rec)
	a := Attempt{At: now, ID: rec.ID, Attempt: rec.Attempts, Outcome: "dead"}
	switch {
	case err == nil:
		d.counters.Delivered.Add(1)
		if d.observer != nil {
			d.observer.Delivered(d.name, now.Sub(rec.Stored))
		}
		a.Attempt, a.Outcome = rec.Attempts+1, "delivered"
	case res.outcome == outcomeRetry:
		d.counters.Retried.Add(1)
		a.Outcome = "retry"
	default:
		d.counters.DeadLettered.Add(1)
	}
	if ao, ok := d.observer.(AttemptObserver); ok {
		if err != nil {
			de := engine.ClassOf(err)
			a.Status, a.Error = de.Status, de.Error()
		}
		ao.Attempted(d.name, a)
	}
}

// commit records an attempt's outcome. An ack may be deferred: the store
// holds it back a little so it shares the next webhook's sync instead of
// paying its own (at one webhook at a time that halves the syncs per event).
// It is still durable before the key's next event goes out, so a crash in
// between can only redeliver this event, with its eventId, in order.
func (d *deliverer) commit(ctx context.Context, b *store.Batch, ack bool) error {
	if ack {
		return store.CommitDeferred(ctx, d.store, b)
	}
	return d.store.Commit(ctx, b)
}

// commitFailed keeps the event queued when the store could not record an
// outcome: it is retried shortly rather than lost or acked in memory only.
func (d *deliverer) commitFailed(res *attemptResult, err error) outcome {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) {
		d.errLog.Log(d.logger, slog.LevelError, "recording delivery outcome failed; the event stays queued", "error", err)
	}
	res.rec.NextAttempt = d.clock.Now().Add(time.Second)
	return outcomeRetry
}
