package store

import (
	"fmt"
	"time"
)

// txWriter applies requests to one group's stage.
type txWriter struct {
	st  *stage
	now time.Time
	// Shared by the group's requests, one after the other: validate's kv
	// keys, and the backing of every outcome's fills (each request's are a
	// slice of it that later appends never change).
	seen  map[kvKey]bool
	fills []seqFill
}

// outcome is what a committed request reports back to its caller.
type outcome struct {
	rejected error     // validation failure: nothing of the batch was written
	fills    []seqFill // Seq/time assignments to copy into the batch
	deleted  int       // purge: dead letters deleted
}

// seqFill records what the group assigned to op: Record.Seq and
// Stored for an append; Dead.Seq (if seq is not 0) and a missing Dead.Died
// for a dead letter.
type seqFill struct {
	op   int
	seq  uint64
	at   time.Time
	dead bool
	set  bool // the op was assigned these (the zero seqFill: nothing)
}

func newTxWriter(st *stage, now time.Time) *txWriter {
	// Round(0) drops the monotonic reading so callers get exactly the value
	// a later read decodes.
	return &txWriter{st: st, now: now.Round(0).UTC()}
}

// fill copies the group's assignments into the caller's batch; called
// only after the group's frame synced.
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
// failed after staging part of itself, so the group must be staged again.
func (w *txWriter) apply(r *request) (outcome, error) {
	if r.purge != nil {
		n, err := w.purge(r.purge)
		return outcome{deleted: n}, err
	}
	if err := w.validate(r.batch); err != nil {
		return outcome{rejected: err}, nil
	}
	start := len(w.fills)
	for i := range r.batch.Ops {
		fill, err := w.applyOp(&r.batch.Ops[i])
		if err != nil {
			return outcome{}, err
		}
		if fill.set {
			fill.op = i
			w.fills = append(w.fills, fill)
		}
	}
	return outcome{fills: w.fills[start:len(w.fills):len(w.fills)]}, nil
}

// applyOp writes one validated op; a seqFill that is set carries what the
// op was assigned (a value: a pointer was an allocation per append).
func (w *txWriter) applyOp(op *Op) (seqFill, error) {
	switch op.Kind {
	case OpAppend:
		return w.append(op.Pipeline, op.Record)
	case OpUpdate:
		return seqFill{}, w.update(op.Pipeline, op.Record)
	case OpAck:
		return seqFill{}, w.ack(op.Pipeline, op.Record.Seq)
	case OpDeadLetter:
		return w.deadLetter(op.Pipeline, op.Dead)
	case OpPut, OpPutIfAbsent:
		p, err := w.st.pipe(op.Pipeline, true)
		if err != nil {
			return seqFill{}, err
		}
		// A nil value is stored empty, so that it reads back as present.
		value := append([]byte{}, op.Value...)
		// PutIfAbsent was validated: no one holds the key.
		w.st.put(p, op.Pipeline, spaceKV, op.Key, value, op.Kind == OpPutIfAbsent)
		return seqFill{}, nil
	case OpDelete:
		p, err := w.st.pipe(op.Pipeline, false)
		if err != nil || p == nil {
			return seqFill{}, err
		}
		if _, ok, err := w.st.get(op.Pipeline, spaceKV, op.Key); err != nil || !ok {
			return seqFill{}, err
		}
		w.st.del(p, op.Pipeline, spaceKV, op.Key)
		return seqFill{}, nil
	case OpDropDead:
		return seqFill{}, w.dropDead(op.Pipeline, op.Dead.Seq)
	}
	return seqFill{}, fmt.Errorf("%w: kind %d", ErrInvalidOp, op.Kind)
}
