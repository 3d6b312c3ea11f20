package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// validate checks a batch against the group's current state (which
// includes batches written earlier in the same group) without writing, so
// that a batch that would fail is skipped whole instead of half-applied.
func (w *txWriter) validate(b *Batch) error {
	// kv keys this batch has set (true) or deleted (false) so far, so that
	// PutIfAbsent sees the batch's own earlier operations.
	set := w.seen
	clear(set)
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
				w.seen = set
			}
			exists, seen := set[k]
			if !seen && op.Kind == OpPutIfAbsent {
				var err error
				if exists, err = w.kvHas(op.Pipeline, op.Key); err != nil {
					return err
				}
			}
			if op.Kind == OpPutIfAbsent && exists {
				return fmt.Errorf("store: key %q of pipeline %q: %w", op.Key, op.Pipeline, ErrExists)
			}
			set[k] = op.Kind != OpDelete
		case OpDeadLetter:
			// A number the pipeline never handed out would collide with a
			// future append or transform-stage dead letter.
			last, err := w.sequence(op.Pipeline)
			if err != nil {
				return err
			}
			if seq := op.Dead.Seq; seq != 0 && seq > last {
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

// kvHas reports whether the key is set, empty values included.
func (w *txWriter) kvHas(pipeline, key string) (bool, error) {
	_, ok, err := w.st.get(pipeline, spaceKV, key)
	return ok, err
}

// sequence is the last number the pipeline handed out.
func (w *txWriter) sequence(pipeline string) (uint64, error) {
	p, err := w.st.pipe(pipeline, false)
	if err != nil || p == nil {
		return 0, err
	}
	return p.meta.seq, nil
}
