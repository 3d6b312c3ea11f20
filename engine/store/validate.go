package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// validate checks a batch against the transaction's current state (which
// includes batches written earlier in the same group) without writing, so
// that a batch that would fail is skipped whole instead of half-applied.
func (w *txWriter) validate(b *Batch) error {
	// kv keys this batch has set (true) or deleted (false) so far, so that
	// PutIfAbsent sees the batch's own earlier operations.
	var set map[kvKey]bool
	for i := range b.Ops {
		op := &b.Ops[i]
		if err := checkOp(op); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		k := kvKey{op.Pipeline, op.Key}
		switch op.Kind {
		case OpPut, OpDelete, OpPutIfAbsent:
			if set == nil {
				set = map[kvKey]bool{}
			}
			exists, seen := set[k]
			if !seen && op.Kind == OpPutIfAbsent {
				exists = w.kvHas(op.Pipeline, op.Key)
			}
			if op.Kind == OpPutIfAbsent && exists {
				return fmt.Errorf("store: key %q of pipeline %q: %w", op.Key, op.Pipeline, ErrExists)
			}
			set[k] = op.Kind != OpDelete
		case OpDeadLetter:
			// A number the pipeline never handed out would collide with a
			// future append or transform-stage dead letter.
			if seq := op.Dead.Seq; seq != 0 && seq > w.sequence(op.Pipeline) {
				return fmt.Errorf("op %d: %w: dead letter seq %d of pipeline %q was never assigned", i, ErrInvalidOp, seq, op.Pipeline)
			}
		}
	}
	return nil
}

type kvKey struct{ pipeline, key string }

// checkOp checks what can be checked without the database.
func checkOp(op *Op) error {
	if op.Kind < OpAppend || op.Kind > OpDropDead {
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidOp, op.Kind)
	}
	if op.Pipeline == "" || len(op.Pipeline) > bolt.MaxKeySize {
		return fmt.Errorf("%w: pipeline name of %d bytes", ErrInvalidOp, len(op.Pipeline))
	}
	switch op.Kind {
	case OpPut, OpPutIfAbsent, OpDelete:
		if op.Key == "" || len(op.Key) > bolt.MaxKeySize {
			return fmt.Errorf("%w: key of %d bytes", ErrInvalidOp, len(op.Key))
		}
		if len(op.Value) > bolt.MaxValueSize {
			return fmt.Errorf("%w: value of %d bytes", ErrInvalidOp, len(op.Value))
		}
	case OpUpdate, OpAck:
		if op.Record.Seq == 0 {
			return fmt.Errorf("%w: seq 0", ErrInvalidOp)
		}
	case OpDropDead:
		if op.Dead.Seq == 0 {
			return fmt.Errorf("%w: dead letter seq 0", ErrInvalidOp)
		}
	}
	return nil
}

// kvHas looks at the key rather than Get's value, which is nil both for a
// missing key and for an empty value.
func (w *txWriter) kvHas(pipeline, key string) bool {
	p, ok := w.existing(pipeline)
	if !ok {
		return false
	}
	k, _ := p.kv.Cursor().Seek([]byte(key))
	return k != nil && string(k) == key
}

// sequence is the last number the pipeline handed out.
func (w *txWriter) sequence(pipeline string) uint64 {
	if p, ok := w.existing(pipeline); ok {
		return p.root.Sequence()
	}
	return 0
}
