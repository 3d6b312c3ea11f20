package natsstore

import (
	"fmt"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// ref names one entity of the stream: a pipeline's Seq counter, a queued
// record, a dead letter or a key.
type ref struct {
	kind     byte
	pipeline string
	seq      uint64
	key      string
}

// change is the state a group leaves one entity in. Each entity is written
// at most once per atomic batch (the server allows one rollup per subject
// per batch), so a group folds every op on the same entity into one change.
type change struct {
	ref
	rec     *store.Record
	dead    *store.DeadLetter
	value   []byte
	gone    bool // deleted
	existed bool // the entity was in the stream before this group
}

// tx applies a group of requests to an overlay, to be published as one
// atomic batch. Its base is the batch published just before it and not yet
// acknowledged (nil when there is none): batches are pipelined, each built
// on the ones in flight ahead of it. The commit goroutine owns every tx and
// is the state's only writer, so it reads the state without locking.
type tx struct {
	st      *state
	base    *tx
	now     time.Time
	changes map[ref]*change
	order   []*change
	seqs    map[string]uint64 // pipelines whose Seq counter this group moved or created
	limits  limits
}

type limits struct {
	maxPayload int // the server's max_payload
}

func newTx(st *state, base *tx, now time.Time, lim limits) *tx {
	return &tx{st: st, base: base, now: now.Round(0).UTC(), changes: map[ref]*change{}, seqs: map[string]uint64{}, limits: lim}
}

// messages is how many messages the batch will hold.
func (t *tx) messages() int {
	n := len(t.seqs)
	for _, c := range t.order {
		if !c.gone || c.existed {
			n++
		}
	}
	return n
}

// find returns the latest change to r in this batch or those ahead of it.
func (t *tx) find(r ref) (*change, bool) {
	for x := t; x != nil; x = x.base {
		if c, ok := x.changes[r]; ok {
			return c, true
		}
	}
	return nil, false
}

func (t *tx) set(c *change) {
	if old, ok := t.changes[c.ref]; ok {
		c.existed = old.existed
		*old = *c
		return
	}
	t.changes[c.ref] = c
	t.order = append(t.order, c)
}

func (t *tx) statePipe(p string) *pipe { return t.st.pipes[p] }

func (t *tx) exists(p string) bool {
	for x := t; x != nil; x = x.base {
		if _, ok := x.seqs[p]; ok {
			return true
		}
	}
	return t.statePipe(p) != nil
}

// touch makes sure pipeline p exists after the batch: a new pipeline gets
// its counter message, which is what lists it among Pipelines.
func (t *tx) touch(p string) {
	if !t.exists(p) {
		t.seqs[p] = 0
	}
}

func (t *tx) sequence(p string) uint64 {
	for x := t; x != nil; x = x.base {
		if s, ok := x.seqs[p]; ok {
			return s
		}
	}
	if sp := t.statePipe(p); sp != nil {
		return sp.seq
	}
	return 0
}

func (t *tx) nextSeq(p string) uint64 {
	s := t.sequence(p) + 1
	t.seqs[p] = s
	return s
}

func (t *tx) queued(p string, seq uint64) (*store.Record, bool) {
	if c, ok := t.find(ref{kind: kindRecord, pipeline: p, seq: seq}); ok {
		return c.rec, !c.gone
	}
	if sp := t.statePipe(p); sp != nil {
		return sp.record(seq)
	}
	return nil, false
}

func (t *tx) deadExists(p string, seq uint64) bool {
	return t.after(ref{kind: kindDead, pipeline: p, seq: seq})
}

func (t *tx) hasKey(p, key string) bool {
	return t.after(ref{kind: kindKV, pipeline: p, key: key})
}

// after reports whether r exists once this batch is applied.
func (t *tx) after(r ref) bool {
	if c, ok := t.changes[r]; ok {
		return !c.gone
	}
	return t.before(r)
}

// before reports whether r exists before this batch: after the batches in
// flight ahead of it, or in the state.
func (t *tx) before(r ref) bool {
	if t.base != nil {
		return t.base.after(r)
	}
	sp := t.statePipe(r.pipeline)
	if sp == nil {
		return false
	}
	switch r.kind {
	case kindRecord:
		_, ok := sp.record(r.seq)
		return ok
	case kindDead:
		_, ok := sp.deadLetter(r.seq)
		return ok
	case kindKV:
		_, ok := sp.value(r.key)
		return ok
	}
	return false
}

func (t *tx) put(r ref, c change) {
	c.ref = r
	c.existed = t.before(r)
	t.set(&c)
}

// outcome is what a request is told once its group is published.
type outcome struct {
	rejected error
	fills    []fill
	dropped  int       // dead letters actually removed (PurgeDeadLetters)
	at       time.Time // the group's time: Stored, Died
}

type fill struct {
	op   int
	seq  uint64
	dead bool
}

// apply validates b against the overlay and, if valid, applies it. A batch
// that fails validation changes nothing.
func (t *tx) apply(b *store.Batch) outcome {
	if err := t.validate(b); err != nil {
		return outcome{rejected: err}
	}
	var out outcome
	for i := range b.Ops {
		op := &b.Ops[i]
		switch op.Kind {
		case store.OpAppend:
			t.touch(op.Pipeline)
			r := op.Record
			r.Seq, r.Stored = t.nextSeq(op.Pipeline), t.now
			t.put(ref{kind: kindRecord, pipeline: op.Pipeline, seq: r.Seq}, change{rec: &r})
			out.fills = append(out.fills, fill{op: i, seq: r.Seq})
		case store.OpUpdate:
			cur, ok := t.queued(op.Pipeline, op.Record.Seq)
			if !ok {
				continue
			}
			r := *cur
			r.Attempts, r.NextAttempt, r.LastError = op.Record.Attempts, op.Record.NextAttempt, op.Record.LastError
			t.put(ref{kind: kindRecord, pipeline: op.Pipeline, seq: r.Seq}, change{rec: &r})
		case store.OpAck:
			t.remove(ref{kind: kindRecord, pipeline: op.Pipeline, seq: op.Record.Seq})
		case store.OpDeadLetter:
			t.touch(op.Pipeline)
			d := op.Dead
			f := fill{op: i, dead: true}
			if d.Seq == 0 {
				d.Seq = t.nextSeq(op.Pipeline)
				f.seq = d.Seq
			} else if cur, ok := t.queued(op.Pipeline, d.Seq); ok {
				d.ID, d.Key, d.Body, d.Stored = cur.ID, cur.Key, cur.Body, cur.Stored
				t.remove(ref{kind: kindRecord, pipeline: op.Pipeline, seq: d.Seq})
			}
			if d.Died.IsZero() {
				d.Died = t.now
			}
			t.put(ref{kind: kindDead, pipeline: op.Pipeline, seq: d.Seq}, change{dead: &d})
			out.fills = append(out.fills, f)
		case store.OpPut, store.OpPutIfAbsent:
			t.touch(op.Pipeline)
			v := op.Value
			if v == nil {
				v = []byte{}
			}
			t.put(ref{kind: kindKV, pipeline: op.Pipeline, key: op.Key}, change{value: v})
		case store.OpDelete:
			if t.hasKey(op.Pipeline, op.Key) {
				t.remove(ref{kind: kindKV, pipeline: op.Pipeline, key: op.Key})
			}
		case store.OpDropDead:
			if t.deadExists(op.Pipeline, op.Dead.Seq) {
				t.remove(ref{kind: kindDead, pipeline: op.Pipeline, seq: op.Dead.Seq})
				out.dropped++
			}
		}
	}
	return out
}

// remove deletes r if it exists.
func (t *tx) remove(r ref) {
	if c, ok := t.changes[r]; ok {
		if !c.gone {
			c.gone, c.rec, c.dead, c.value = true, nil, nil, nil
		}
		return
	}
	if t.before(r) {
		t.put(r, change{gone: true})
	}
}

// validate checks b without changing the overlay, so that a batch that
// would fail is skipped whole (ErrExists, ErrInvalidOp).
func (t *tx) validate(b *store.Batch) error {
	var set map[[2]string]bool // keys this batch set (true) or deleted (false) so far
	for i := range b.Ops {
		op := &b.Ops[i]
		if err := t.checkOp(op); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		switch op.Kind {
		case store.OpPut, store.OpDelete, store.OpPutIfAbsent:
			if set == nil {
				set = map[[2]string]bool{}
			}
			k := [2]string{op.Pipeline, op.Key}
			exists, seen := set[k]
			if !seen && op.Kind == store.OpPutIfAbsent {
				exists = t.hasKey(op.Pipeline, op.Key)
			}
			if op.Kind == store.OpPutIfAbsent && exists {
				return fmt.Errorf("store: key %q of pipeline %q: %w", op.Key, op.Pipeline, store.ErrExists)
			}
			set[k] = op.Kind != store.OpDelete
		case store.OpDeadLetter:
			if seq := op.Dead.Seq; seq != 0 && seq > t.sequence(op.Pipeline) {
				return fmt.Errorf("op %d: %w: dead letter seq %d of pipeline %q was never assigned", i, store.ErrInvalidOp, seq, op.Pipeline)
			}
		}
	}
	return nil
}

// Names and keys are bounded so that subjects stay well inside NATS's
// control line; bodies and values by the server's max_payload.
const (
	maxPipelineName = 200
	maxKey          = 32 << 10
	payloadSlack    = 1 << 10 // encoding overhead kept free below max_payload
)

func (t *tx) checkOp(op *store.Op) error {
	if op.Kind < store.OpAppend || op.Kind > store.OpDropDead {
		return fmt.Errorf("%w: unknown kind %d", store.ErrInvalidOp, op.Kind)
	}
	if op.Pipeline == "" || len(op.Pipeline) > maxPipelineName {
		return fmt.Errorf("%w: pipeline name of %d bytes (1 to %d)", store.ErrInvalidOp, len(op.Pipeline), maxPipelineName)
	}
	room := t.limits.maxPayload - payloadSlack - len(op.Pipeline)
	switch op.Kind {
	case store.OpPut, store.OpPutIfAbsent, store.OpDelete:
		if op.Key == "" || len(op.Key) > maxKey {
			return fmt.Errorf("%w: key of %d bytes", store.ErrInvalidOp, len(op.Key))
		}
		if len(op.Key)+len(op.Value) > room {
			return fmt.Errorf("%w: value of %d bytes is over the NATS server's max_payload (%d)", store.ErrInvalidOp, len(op.Value), t.limits.maxPayload)
		}
	case store.OpAppend:
		r := &op.Record
		if n := len(r.ID) + len(r.Key) + len(r.Body) + len(r.LastError); n > room {
			return fmt.Errorf("%w: record of %d bytes is over the NATS server's max_payload (%d)", store.ErrInvalidOp, n, t.limits.maxPayload)
		}
	case store.OpDeadLetter:
		d := &op.Dead
		if n := len(d.ID) + len(d.Key) + len(d.Body) + len(d.LastError) + len(d.Error) + len(d.Response) + len(d.Stage); n > room {
			return fmt.Errorf("%w: dead letter of %d bytes is over the NATS server's max_payload (%d)", store.ErrInvalidOp, n, t.limits.maxPayload)
		}
	case store.OpUpdate, store.OpAck:
		if op.Record.Seq == 0 {
			return fmt.Errorf("%w: seq 0", store.ErrInvalidOp)
		}
	case store.OpDropDead:
		if op.Dead.Seq == 0 {
			return fmt.Errorf("%w: dead letter seq 0", store.ErrInvalidOp)
		}
	}
	return nil
}
