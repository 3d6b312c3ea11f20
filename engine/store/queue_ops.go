package store

import "fmt"

// The queue and dead-letter writes of one transaction. Each keeps the
// pipeline's counters in step with what it actually added or removed, so
// repeating an op (acking twice, dead-lettering twice) never skews Stats.

func (w *txWriter) append(pipeline string, r Record) (*seqFill, error) {
	p, err := w.pipe(pipeline)
	if err != nil {
		return nil, err
	}
	seq, err := p.root.NextSequence()
	if err != nil {
		return nil, fmt.Errorf("store: next seq of pipeline %q: %w", pipeline, err)
	}
	r.Seq, r.Stored = seq, w.now
	if err := p.queue.Put(seqKey(seq), encodeRecord(&r)); err != nil {
		return nil, fmt.Errorf("store: append to pipeline %q: %w", pipeline, err)
	}
	w.count(pipeline).queued++
	return &seqFill{seq: seq, at: w.now}, nil
}

// update rewrites only the bookkeeping fields, so a caller that holds a
// stale or partial copy cannot change the body. A record acked meanwhile is
// left alone.
func (w *txWriter) update(pipeline string, r Record) error {
	p, ok := w.existing(pipeline)
	if !ok {
		return nil
	}
	k := seqKey(r.Seq)
	v := p.queue.Get(k)
	if v == nil {
		return nil
	}
	cur, err := decodeRecord(r.Seq, v)
	if err != nil {
		return fmt.Errorf("store: update pipeline %q: %w", pipeline, err)
	}
	cur.Attempts, cur.NextAttempt, cur.LastError = r.Attempts, r.NextAttempt, r.LastError
	if err := p.queue.Put(k, encodeRecord(&cur)); err != nil {
		return fmt.Errorf("store: update record %d of pipeline %q: %w", r.Seq, pipeline, err)
	}
	return nil
}

// ack removes seq from the queue if it is still there.
func (w *txWriter) ack(pipeline string, seq uint64) error {
	p, ok := w.existing(pipeline)
	if !ok {
		return nil
	}
	k := seqKey(seq)
	if p.queue.Get(k) == nil {
		return nil
	}
	if err := p.queue.Delete(k); err != nil {
		return fmt.Errorf("store: remove record %d of pipeline %q: %w", seq, pipeline, err)
	}
	w.count(pipeline).queued--
	return nil
}

func (w *txWriter) deadLetter(pipeline string, d DeadLetter) (*seqFill, error) {
	p, err := w.pipe(pipeline)
	if err != nil {
		return nil, err
	}
	fill := &seqFill{at: w.now, dead: true}
	if d.Seq == 0 {
		if d.Seq, err = p.root.NextSequence(); err != nil {
			return nil, fmt.Errorf("store: next seq of pipeline %q: %w", pipeline, err)
		}
		fill.seq = d.Seq
	} else if err := w.takeQueued(pipeline, &d); err != nil {
		return nil, err
	}
	if d.Died.IsZero() {
		d.Died = w.now
	}
	k := seqKey(d.Seq)
	if p.dead.Get(k) == nil {
		w.count(pipeline).dead++
	}
	if err := p.dead.Put(k, encodeDead(&d)); err != nil {
		return nil, fmt.Errorf("store: dead-letter %d of pipeline %q: %w", d.Seq, pipeline, err)
	}
	return fill, nil
}

// takeQueued removes d.Seq from the queue if it is still there. The queued
// copy is the event "as it was queued", so its content replaces whatever
// the caller passed (a worker may send only Seq and the bookkeeping); a copy
// that no longer decodes is still removed, and the caller's content kept.
func (w *txWriter) takeQueued(pipeline string, d *DeadLetter) error {
	p, ok := w.existing(pipeline)
	if !ok {
		return nil
	}
	if v := p.queue.Get(seqKey(d.Seq)); v != nil {
		if cur, err := decodeRecord(d.Seq, v); err == nil {
			d.ID, d.Key, d.Body, d.Stored = cur.ID, cur.Key, cur.Body, cur.Stored
		}
	}
	return w.ack(pipeline, d.Seq)
}

func (w *txWriter) dropDead(pipeline string, seq uint64) error {
	p, ok := w.existing(pipeline)
	if !ok {
		return nil
	}
	k := seqKey(seq)
	if p.dead.Get(k) == nil {
		return nil
	}
	if err := p.dead.Delete(k); err != nil {
		return fmt.Errorf("store: drop dead letter %d of pipeline %q: %w", seq, pipeline, err)
	}
	w.count(pipeline).dead--
	return nil
}
