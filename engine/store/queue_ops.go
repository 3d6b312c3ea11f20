package store

import "fmt"

// The queue and dead-letter writes of one group. Each keeps the pipeline's
// counters in step with what it actually added or removed, so repeating an
// op (acking twice, dead-lettering twice) never skews Stats.

func (w *txWriter) append(pipeline string, r Record) (seqFill, error) {
	p, err := w.st.pipe(pipeline, true)
	if err != nil {
		return seqFill{}, err
	}
	p.meta.seq++
	seq := p.meta.seq
	r.Seq, r.Stored = seq, w.now
	w.st.put(p, pipeline, spaceQueue, string(seqKey(seq)), encodeRecord(&r), true)
	p.meta.queued++
	return seqFill{seq: seq, at: w.now, set: true}, nil
}

// update rewrites only the bookkeeping fields, so a caller that holds a
// stale or partial copy cannot change the body. A record acked meanwhile is
// left alone.
func (w *txWriter) update(pipeline string, r Record) error {
	k := string(seqKey(r.Seq))
	v, ok, err := w.st.get(pipeline, spaceQueue, k)
	if err != nil || !ok {
		return err
	}
	cur, err := decodeRecord(r.Seq, v)
	if err != nil {
		return fmt.Errorf("store: update pipeline %q: %w", pipeline, err)
	}
	cur.Attempts, cur.NextAttempt, cur.LastError = r.Attempts, r.NextAttempt, r.LastError
	p, err := w.st.pipe(pipeline, false)
	if err != nil {
		return err
	}
	w.st.put(p, pipeline, spaceQueue, k, encodeRecord(&cur), false)
	return nil
}

// ack removes seq from the queue if it is still there.
func (w *txWriter) ack(pipeline string, seq uint64) error {
	p, err := w.removeSeq(pipeline, spaceQueue, seq)
	if p != nil {
		p.meta.queued--
	}
	return err
}

// removeSeq deletes seq's key from sp if it is there, and returns the
// pipeline's staged state then (nil if there was nothing to delete).
func (w *txWriter) removeSeq(pipeline string, sp space, seq uint64) (*stagePipe, error) {
	k := string(seqKey(seq))
	_, ok, err := w.st.get(pipeline, sp, k)
	if err != nil || !ok {
		return nil, err
	}
	p, err := w.st.pipe(pipeline, false)
	if err != nil {
		return nil, err
	}
	w.st.del(p, pipeline, sp, k)
	return p, nil
}

func (w *txWriter) deadLetter(pipeline string, d DeadLetter) (seqFill, error) {
	p, err := w.st.pipe(pipeline, true)
	if err != nil {
		return seqFill{}, err
	}
	fill := seqFill{at: w.now, dead: true, set: true}
	if d.Seq == 0 {
		p.meta.seq++
		d.Seq = p.meta.seq
		fill.seq = d.Seq
	} else if err := w.takeQueued(pipeline, &d); err != nil {
		return seqFill{}, err
	}
	if d.Died.IsZero() {
		d.Died = w.now
	}
	k := string(seqKey(d.Seq))
	_, had, err := w.st.get(pipeline, spaceDead, k)
	if err != nil {
		return seqFill{}, err
	}
	if !had {
		p.meta.dead++
	}
	w.st.put(p, pipeline, spaceDead, k, encodeDead(&d), fill.seq != 0)
	return fill, nil
}

// takeQueued removes d.Seq from the queue if it is still there. The queued
// copy is the event "as it was queued", so its content replaces whatever
// the caller passed (a worker may send only Seq and the bookkeeping); a copy
// that no longer decodes is still removed, and the caller's content kept.
func (w *txWriter) takeQueued(pipeline string, d *DeadLetter) error {
	v, ok, err := w.st.get(pipeline, spaceQueue, string(seqKey(d.Seq)))
	if err != nil || !ok {
		return err
	}
	if cur, err := decodeRecord(d.Seq, v); err == nil {
		d.ID, d.Key, d.Body, d.Stored = cur.ID, cur.Key, cur.Body, cur.Stored
	}
	return w.ack(pipeline, d.Seq)
}

func (w *txWriter) dropDead(pipeline string, seq uint64) error {
	p, err := w.removeSeq(pipeline, spaceDead, seq)
	if p != nil {
		p.meta.dead--
	}
	return err
}
