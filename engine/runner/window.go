package runner

import (
	"time"
)

// The deliverer's window is the part of the queue it holds in memory: at
// most maxWindow records, read in Seq order up to lastRead. When the window
// is full and every key in it is waiting for a retry, the objects behind
// lastRead would be held up by them; so the waiting keys are evicted, and
// reading goes on past them. This is how it keeps per-key order.
//
// Let Q(k) be key k's queued records in Seq order. The window keeps:
//
//  1. A key in d.keys holds a prefix of Q(k): every record of Q(k) up to
//     its last item, none missing. Only items[0], the smallest queued
//     record of k, is ever delivered, so k goes in order.
//  2. An evicted key has no record in memory, and every record of Q(k) has
//     Seq >= evict.from.
//  3. Any other key has no queued record with Seq <= lastRead.
//
// Reading record r of key k past lastRead keeps them: if k is evicted r is
// dropped (2 still holds; r stays on disk), if k is held r is appended (its
// prefix grows by the next record: by 1 or 3 nothing of k between lies
// unread), otherwise r is k's first queued record (3) and starts a prefix.
// Eviction removes a key from memory and lowers evict.from to its head, so
// 2 holds. A delivered or dead-lettered head leaves Q(k) and the prefix
// alike. A rewind sets lastRead to evict.from-1 and forgets the evicted
// set: by 2 those keys have nothing at or below the new lastRead, which is
// 3; held keys keep their prefixes, and add skips re-read records at or
// below a prefix's end, so 1 holds and the scan resumes appending after it.
//
// Rewinds happen when the earliest evicted head is due (evict.at), at most
// once per rewindEvery, and cost one read of the queue from evict.from.
// Memory is bounded by maxWindow records plus maxEvicted key names.
type evictions struct {
	keys map[string]struct{}
	from uint64    // smallest head Seq of an evicted key
	at   time.Time // earliest NextAttempt of an evicted head
	last time.Time // last rewind
}

func (e *evictions) reset() {
	e.keys = map[string]struct{}{}
	e.from, e.at = 0, time.Time{}
}

func (e *evictions) has(key string) bool {
	if len(e.keys) == 0 {
		return false
	}
	_, ok := e.keys[key]
	return ok
}

// due says how long until a rewind may run, if one is wanted.
func (e *evictions) due(now time.Time) (time.Duration, bool) {
	if len(e.keys) == 0 {
		return 0, false
	}
	at := e.at
	if next := e.last.Add(rewindEvery); next.After(at) {
		at = next
	}
	return max(0, at.Sub(now)), true
}

// stalled says the window can make no progress by itself: the endpoint is
// up, nothing is ready, keys wait for retries, and more lies on disk.
func (d *deliverer) stalled() bool {
	return d.more && d.ready.Len() == 0 && d.waiting.Len() > 0 && !d.ep.isDown() && len(d.evict.keys) < maxEvicted
}

// evictWaiting drops every waiting key from memory (see evictions).
func (d *deliverer) evictWaiting() {
	for d.waiting.Len() > 0 && len(d.evict.keys) < maxEvicted {
		kq := d.waiting.pop().kq
		head := kq.items[0]
		if len(d.evict.keys) == 0 || head.Seq < d.evict.from {
			d.evict.from = head.Seq
		}
		if len(d.evict.keys) == 0 || head.NextAttempt.Before(d.evict.at) {
			d.evict.at = head.NextAttempt
		}
		d.evict.keys[kq.key] = struct{}{}
		d.entries -= len(kq.items)
		for _, r := range kq.items {
			d.bodies -= len(r.Body)
		}
		kq.items = nil
		delete(d.keys, kq.key)
	}
}

// maybeRewind rescans the queue from the earliest evicted head once one is
// due.
func (d *deliverer) maybeRewind() {
	now := d.clock.Now()
	if wait, ok := d.evict.due(now); !ok || wait > 0 || d.ep.isDown() {
		return
	}
	d.lastRead = max(d.evict.from, 1) - 1
	d.more = true
	d.evict.reset()
	d.evict.last = now
}
