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

// host is the Host one pipeline generation gives its source.
type host struct {
	name string
	kind string // source kind, for $meta.source
	// nameV and kindV are name and kind boxed once: storing a string in
	// Meta allocated on every event.
	nameV, kindV any
	transforms   []engine.Transform
	store        store.Store
	clock        engine.Clock
	logger       *slog.Logger
	counters     *Counters
	queue        *queueGauge
	limit        QueueLimit
	// stored is signalled after each commit that appended records, to
	// wake the deliverer.
	stored *storedSignal
}

var _ engine.Host = (*host)(nil)

// Emit runs events through the transforms and commits the results, the
// transform dead letters and the state updates in one batch.
func (h *host) Emit(ctx context.Context, events []engine.Event, state ...engine.StateUpdate) error {
	now := h.clock.Now()
	// Sized for one output per event: growing it op by op copied the
	// (large) ops twice for a webhook's event and its two dedupe keys.
	b := newBatch(len(events) + len(state))
	appended, bytes := 0, 0
	for _, ev := range events {
		h.counters.In.Add(1)
		ev.Meta = h.meta(ev.Meta, now)
		outs, err := h.transform(ctx, ev)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("emit: %w", ctx.Err())
			}
			body, merr := marshal(ev.Value)
			if merr != nil {
				body = []byte(fmt.Sprintf("%q", fmt.Sprint(ev.Value)))
			}
			b.DeadLetter(h.name, store.DeadLetter{
				Record: store.Record{ID: ev.ID, Key: ev.Key, Body: body},
				Stage:  "transform",
				Error:  err.Error(),
				Died:   now,
			})
			h.counters.DeadLettered.Add(1)
			h.counters.setError("transform: "+err.Error(), now)
			h.logger.Warn("event dead-lettered by a transform", "id", ev.ID, "error", err)
			continue
		}
		if len(outs) == 0 {
			h.counters.Filtered.Add(1)
		}
		for i, out := range outs {
			body, err := marshal(out.Value)
			if err != nil {
				b.DeadLetter(h.name, store.DeadLetter{
					Record: store.Record{ID: ev.ID, Key: ev.Key},
					Stage:  "transform",
					Error:  fmt.Sprintf("output is not JSON: %v", err),
					Died:   now,
				})
				h.counters.DeadLettered.Add(1)
				continue
			}
			id, key := identify(h.name, out.Value, body, out, i)
			b.Append(h.name, store.Record{ID: id, Key: key, Body: body})
			appended++
			bytes += len(body)
		}
	}
	addState(b, h.name, state)
	if b.Len() == 0 {
		return nil
	}
	if appended > 0 {
		if err := h.queue.check(ctx, h.store, h.name, h.limit, int64(appended), int64(bytes)); err != nil {
			return fmt.Errorf("emit: %w", err)
		}
	}
	if err := h.store.Commit(ctx, b); err != nil {
		if errors.Is(err, store.ErrExists) {
			return engine.ErrDuplicate
		}
		return fmt.Errorf("emit: storing %d events: %w", appended, err)
	}
	if appended > 0 {
		h.queue.added(int64(appended), int64(bytes))
		h.counters.Stored.Add(uint64(appended))
		h.stored.Appended(maxAppended(b))
	}
	return nil
}

// newBatch is an empty batch with room for n ops. A committed batch
// escapes (the store holds it while it commits), so when the ops are few —
// a webhook's event and its two dedupe keys, an ack — the batch and its
// ops are one allocation, not two.
func newBatch(n int) *store.Batch {
	switch {
	case n <= 1:
		b := new(batchOf1)
		b.Ops = b.ops[:0]
		return &b.Batch
	case n <= 3:
		b := new(batchOf3)
		b.Ops = b.ops[:0]
		return &b.Batch
	}
	return &store.Batch{Ops: make([]store.Op, 0, n)}
}

// An Op is about 400 bytes: an ack's batch has room for one only.
type (
	batchOf1 struct {
		store.Batch
		ops [1]store.Op
	}
	batchOf3 struct {
		store.Batch
		ops [3]store.Op
	}
)

// meta completes an event's metadata with what the engine knows. The map
// is the source's to give (see Host.Emit), so it is filled in place rather
// than copied for every event.
func (h *host) meta(m engine.Meta, now time.Time) engine.Meta {
	if m == nil {
		m = make(engine.Meta, 3)
	}
	m[engine.MetaPipeline] = h.nameV
	m[engine.MetaSource] = h.kindV
	if _, ok := m[engine.MetaReceived]; !ok {
		m[engine.MetaReceived] = now.UTC().Format(time.RFC3339Nano)
	}
	return m
}

// transform runs ev through every transform in order; each output of one
// stage is the input of the next. A stage with one input passes its
// outputs on as they are (the common case: no copy per stage).
func (h *host) transform(ctx context.Context, ev engine.Event) ([]engine.Event, error) {
	if len(h.transforms) == 0 {
		return []engine.Event{ev}, nil
	}
	var cur []engine.Event
	for i, t := range h.transforms {
		if p, ok := t.(engine.Predicate); ok && i > 0 {
			var err error
			if cur, err = h.keep(ctx, p, cur); err != nil {
				return nil, fmt.Errorf("transform %d: %w", i+1, err)
			}
			if len(cur) == 0 {
				return nil, nil
			}
			continue
		}
		var next []engine.Event
		apply := func(in engine.Event) error {
			outs, err := h.apply(ctx, t, in)
			if err != nil {
				return fmt.Errorf("transform %d: %w", i+1, err)
			}
			if next == nil {
				next = outs
			} else {
				// Capped, so the transform's own array is never written.
				next = append(next[:len(next):len(next)], outs...)
			}
			return nil
		}
		if i == 0 {
			if err := apply(ev); err != nil {
				return nil, err
			}
		} else {
			for _, in := range cur {
				if err := apply(in); err != nil {
					return nil, err
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil, nil
		}
	}
	return cur, nil
}

// keep is the events of in that p keeps, in order: in itself when it
// keeps them all, else a new slice (in may be an earlier transform's own).
func (h *host) keep(ctx context.Context, p engine.Predicate, in []engine.Event) ([]engine.Event, error) {
	var out []engine.Event
	for j, ev := range in {
		var keep bool
		err := runGuarded(func() (err error) {
			keep, err = p.Keep(ctx, ev)
			return err
		})
		switch {
		case err != nil:
			return nil, err
		case !keep && out == nil:
			out = append(make([]engine.Event, 0, len(in)-1), in[:j]...)
		case keep && out != nil:
			out = append(out, ev)
		}
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

// apply runs one transform on in, a panic turned into its error.
func (h *host) apply(ctx context.Context, t engine.Transform, in engine.Event) (outs []engine.Event, err error) {
	err = runGuarded(func() (err error) {
		outs, err = t.Apply(ctx, in)
		return err
	})
	return outs, err
}

// maxAppended is the highest Seq the commit gave b's appended records (the
// store fills them in); 0 if it gave none.
func maxAppended(b *store.Batch) uint64 {
	var seq uint64
	for i := range b.Ops {
		if op := &b.Ops[i]; op.Kind == store.OpAppend {
			if op.Record.Seq == 0 {
				return 0
			}
			seq = max(seq, op.Record.Seq)
		}
	}
	return seq
}

func addState(b *store.Batch, pipeline string, state []engine.StateUpdate) {
	for _, s := range state {
		switch {
		case s.Delete:
			b.Delete(pipeline, s.Key)
		case s.IfAbsent:
			b.PutIfAbsent(pipeline, s.Key, s.Value)
		default:
			b.Put(pipeline, s.Key, s.Value)
		}
	}
}

func (h *host) State(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := h.store.Value(ctx, h.name, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading state %q: %w", key, err)
	}
	return v, true, nil
}

func (h *host) ScanState(ctx context.Context, prefix string, fn func(string, []byte) bool) error {
	return h.store.Scan(ctx, h.name, prefix, fn)
}

func (h *host) ReportError(err error) {
	if err == nil {
		h.counters.setSourceError("")
		return
	}
	h.counters.setSourceError(err.Error())
	h.counters.setError("source: "+err.Error(), h.clock.Now())
}
