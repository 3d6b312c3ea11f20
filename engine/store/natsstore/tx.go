package natsstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nuid"

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
	// id is the subject token of a new record or transform dead letter.
	id string
	// msg is the change's message in the built batch (-1: none): a new
	// record's Seq is the stream sequence of that message.
	msg int
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
	created map[string]bool // pipelines this group creates (their "exists" message)
	limits  limits
	tent    uint64 // last tentative Seq given to a new entity of this group
	seen    *seen  // keys as this store last read or wrote them
	// subjects: the subjects this batch writes, so that the batches
	// pipelined after it set no expectation on them (set by build).
	subjects map[string]bool
}

// tentative Seqs stand for the entities a group creates until the batch is
// acknowledged; they are above any stream sequence and never leave the tx.
const tentative = uint64(1) << 63

type limits struct {
	maxPayload int // the server's max_payload
}

func newTx(st *state, base *tx, now time.Time, lim limits) *tx {
	return &tx{st: st, base: base, now: now.Round(0).UTC(), changes: map[ref]*change{}, created: map[string]bool{}, limits: lim, tent: tentative}
}

// messages is how many messages the batch will hold.
func (t *tx) messages() int {
	n := len(t.created)
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

func (t *tx) set(c *change) *change {
	if old, ok := t.changes[c.ref]; ok {
		c.existed = old.existed
		if c.id == "" {
			c.id = old.id
		}
		*old = *c
		return old
	}
	t.changes[c.ref] = c
	t.order = append(t.order, c)
	return c
}

func (t *tx) statePipe(p string) *pipe { return t.st.pipes[p] }

func (t *tx) exists(p string) bool {
	for x := t; x != nil; x = x.base {
		if x.created[p] {
			return true
		}
	}
	return t.statePipe(p) != nil
}

// touch makes sure pipeline p exists after the batch: a new pipeline gets
// its counter message, which is what lists it among Pipelines.
func (t *tx) touch(p string) {
	if !t.exists(p) {
		t.created[p] = true
	}
}

// sequence is the highest Seq of pipeline p this store has seen: a dead
// letter may not claim a higher one.
func (t *tx) sequence(p string) uint64 {
	if sp := t.statePipe(p); sp != nil {
		return sp.seq
	}
	return 0
}

// newID gives a new entity of this group its tentative Seq and subject
// token.
func (t *tx) newID() (uint64, string) {
	t.tent++
	return t.tent, nuid.Next()
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

func (t *tx) put(r ref, c change) *change {
	c.ref = r
	c.existed = t.before(r)
	c.msg = -1
	return t.set(&c)
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
	c    *change // the new entity; nil: Seq known (a queued record's dead letter)
	seq  uint64  // set once the batch is acknowledged
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
			seq, id := t.newID()
			r.Seq, r.Stored = 0, t.now // 0: the stream sequence of its message
			c := t.put(ref{kind: kindRecord, pipeline: op.Pipeline, seq: seq}, change{rec: &r, id: id})
			out.fills = append(out.fills, fill{op: i, c: c})
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
			key, id := d.Seq, deadID(d.Seq)
			if d.Seq == 0 {
				key, id = t.newID()
			} else if cur, ok := t.queued(op.Pipeline, d.Seq); ok {
				d.ID, d.Key, d.Body, d.Stored = cur.ID, cur.Key, cur.Body, cur.Stored
				t.remove(ref{kind: kindRecord, pipeline: op.Pipeline, seq: d.Seq})
			}
			if d.Died.IsZero() {
				d.Died = t.now
			}
			c := t.put(ref{kind: kindDead, pipeline: op.Pipeline, seq: key}, change{dead: &d, id: id})
			if d.Seq == 0 {
				f.c = c
			}
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

// errUnsettled rejects, for now, a PutIfAbsent of a key that only a batch
// not yet acknowledged sets (one in flight, or earlier in the same group):
// that batch may still fail, and then the key is absent. The request is
// validated again once everything in flight has landed. Answering
// ErrExists at once lost a webhook: its first delivery's batch failed
// (outcome unknown, a stream leader change), while the sender's retry, on
// the same replica, had been told "duplicate".
var errUnsettled = errors.New("store: key set only by a batch not yet acknowledged")

// committedKey reports whether the state, as acknowledged by the stream,
// holds key.
func (t *tx) committedKey(p, key string) bool {
	sp := t.statePipe(p)
	if sp == nil {
		return false
	}
	_, ok := sp.value(key)
	return ok
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
				if !seen && !t.committedKey(op.Pipeline, op.Key) {
					return errUnsettled
				}
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
