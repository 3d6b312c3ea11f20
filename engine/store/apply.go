package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// txWriter applies requests inside one group transaction. Counter changes
// are summed per pipeline and written once, at flush.
type txWriter struct {
	tx     *bolt.Tx
	now    time.Time
	pipes  map[string]pipeBuckets
	deltas map[string]*counts
}

type counts struct{ queued, dead int64 }

// outcome is what a committed request reports back to its caller.
type outcome struct {
	rejected error     // validation failure: nothing of the batch was written
	fills    []seqFill // Seq/time assignments to copy into the batch
	deleted  int       // purge: dead letters deleted
}

// seqFill records what the transaction assigned to op: Record.Seq and
// Stored for an append; Dead.Seq (if seq is not 0) and a missing Dead.Died
// for a dead letter.
type seqFill struct {
	op   int
	seq  uint64
	at   time.Time
	dead bool
}

func newTxWriter(tx *bolt.Tx, now time.Time) *txWriter {
	// Round(0) drops the monotonic reading so callers get exactly the value
	// a later read decodes.
	return &txWriter{tx: tx, now: now.Round(0).UTC(), pipes: map[string]pipeBuckets{}, deltas: map[string]*counts{}}
}

// fill copies the transaction's assignments into the caller's batch; called
// only after the transaction committed.
func (o outcome) fill(r *request) {
	if r.purge != nil {
		r.purge.deleted = o.deleted
		return
	}
	for _, f := range o.fills {
		op := &r.batch.Ops[f.op]
		if !f.dead {
			op.Record.Seq, op.Record.Stored = f.seq, f.at
			continue
		}
		if f.seq != 0 {
			op.Dead.Seq = f.seq
		}
		if op.Dead.Died.IsZero() {
			op.Dead.Died = f.at
		}
	}
}

// apply writes one request. A batch that fails validation is reported in
// outcome.rejected with nothing written; an error return means the request
// failed after writing part of itself, so the transaction must roll back.
func (w *txWriter) apply(r *request) (outcome, error) {
	if r.purge != nil {
		n, err := w.purge(r.purge)
		return outcome{deleted: n}, err
	}
	if err := w.validate(r.batch); err != nil {
		return outcome{rejected: err}, nil
	}
	var out outcome
	for i := range r.batch.Ops {
		fill, err := w.applyOp(&r.batch.Ops[i])
		if err != nil {
			return outcome{}, err
		}
		if fill != nil {
			fill.op = i
			out.fills = append(out.fills, *fill)
		}
	}
	return out, nil
}

// applyOp writes one validated op; a non-nil seqFill carries a number the
// op was assigned.
func (w *txWriter) applyOp(op *Op) (*seqFill, error) {
	switch op.Kind {
	case OpAppend:
		return w.append(op.Pipeline, op.Record)
	case OpUpdate:
		return nil, w.update(op.Pipeline, op.Record)
	case OpAck:
		return nil, w.ack(op.Pipeline, op.Record.Seq)
	case OpDeadLetter:
		return w.deadLetter(op.Pipeline, op.Dead)
	case OpPut, OpPutIfAbsent:
		p, err := w.pipe(op.Pipeline)
		if err != nil {
			return nil, err
		}
		// bbolt keeps a nil value nil until commit, and Get then reports the
		// key as missing to later batches in the same transaction.
		value := op.Value
		if value == nil {
			value = []byte{}
		}
		if err := p.kv.Put([]byte(op.Key), value); err != nil {
			return nil, fmt.Errorf("store: put %q in pipeline %q: %w", op.Key, op.Pipeline, err)
		}
		return nil, nil
	case OpDelete:
		if p, ok := w.existing(op.Pipeline); ok {
			if err := p.kv.Delete([]byte(op.Key)); err != nil {
				return nil, fmt.Errorf("store: delete %q in pipeline %q: %w", op.Key, op.Pipeline, err)
			}
		}
		return nil, nil
	case OpDropDead:
		return nil, w.dropDead(op.Pipeline, op.Dead.Seq)
	}
	return nil, fmt.Errorf("%w: kind %d", ErrInvalidOp, op.Kind)
}

// pipe returns the pipeline's buckets, creating them.
func (w *txWriter) pipe(pipeline string) (pipeBuckets, error) {
	if p, ok := w.pipes[pipeline]; ok {
		return p, nil
	}
	p, err := createPipeline(w.tx, pipeline)
	if err != nil {
		return pipeBuckets{}, err
	}
	p.packAppends()
	w.pipes[pipeline] = p
	return p, nil
}

// existing returns the pipeline's buckets without creating them, so that
// removing from a pipeline that never stored anything leaves no trace.
func (w *txWriter) existing(pipeline string) (pipeBuckets, bool) {
	if p, ok := w.pipes[pipeline]; ok {
		return p, true
	}
	p, ok := readPipeline(w.tx, pipeline)
	if ok {
		p.packAppends()
		w.pipes[pipeline] = p
	}
	return p, ok
}

func (w *txWriter) count(pipeline string) *counts {
	c := w.deltas[pipeline]
	if c == nil {
		c = &counts{}
		w.deltas[pipeline] = c
	}
	return c
}

// flush writes the summed counter changes.
func (w *txWriter) flush() error {
	for name, c := range w.deltas {
		p, ok := w.existing(name)
		if !ok {
			return fmt.Errorf("store: counters for missing pipeline %q", name)
		}
		if err := p.addCounter(keyQueued, c.queued); err != nil {
			return err
		}
		if err := p.addCounter(keyDead, c.dead); err != nil {
			return err
		}
		delete(w.deltas, name)
	}
	return nil
}
