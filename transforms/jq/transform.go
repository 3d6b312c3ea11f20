package jq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itchyny/gojq"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/transforms/internal/jsonvalue"
)

// MaxOutputs caps the events one input may fan out to. A runaway generator
// (`repeat(.)`) would otherwise fill memory long before its timeout.
const MaxOutputs = 10000

// Transform runs a compiled jq program over each event. It is safe for
// concurrent use: gojq's compiled code is immutable.
type Transform struct {
	code    *gojq.Code
	timeout time.Duration
	// direct, when the whole program is one the shipped module runs as
	// Go, runs it without the interpreter (see directProgram).
	direct func(in, metaID, pipeline, received any) any
}

// Apply runs the program with the event's Value as input and its Meta as
// $meta. Every output becomes an event carrying the input's ID, Key and
// Meta; no output drops the event. A jq error, a time-out or too many
// outputs fail the whole event.
func (t *Transform) Apply(ctx context.Context, ev engine.Event) (_ []engine.Event, err error) {
	// gojq panics on values it does not know; ForJQ prevents that, and this
	// keeps any other interpreter bug to one dead-lettered event.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jq: internal error: %v", r)
		}
	}()
	if t.direct != nil {
		if out, ok := t.runDirect(ctx, ev); ok {
			return out, nil
		}
	}
	in := ev.Value
	if !ev.Plain {
		if in, err = jsonvalue.ForJQ(ev.Value); err != nil {
			return nil, fmt.Errorf("jq: input: %w", err)
		}
	}
	meta, err := metaValue(ev.Meta)
	if err != nil {
		return nil, fmt.Errorf("jq: $meta: %w", err)
	}
	// gojq's outputs are made of its own types, of parts of the input and
	// of $meta, and Marshalable removes the NaNs: so they are plain when
	// the input and $meta are.
	plain := ev.Plain && jsonvalue.IsPlain(meta)
	var plainIn map[string]any // walked already: no NaN in it
	if ev.Plain {
		plainIn, _ = in.(map[string]any)
	}
	runCtx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()

	var out []engine.Event
	iter := t.code.RunWithContext(runCtx, in, meta)
	for {
		v, ok := iter.Next()
		if !ok {
			return out, nil
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return out, nil // `halt` ends the program normally
			}
			return nil, t.runError(ctx, err)
		}
		if len(out) == MaxOutputs {
			return nil, fmt.Errorf("jq: program produced more than %d outputs for one event", MaxOutputs)
		}
		out = append(out, engine.Event{
			Value: jsonvalue.MarshalableBeside(v, plainIn),
			ID:    ev.ID,
			Key:   ev.Key,
			Meta:  ev.Meta,
			Plain: plain,
		})
	}
}

// runDirect is Apply for a direct program: ok is false, and the
// interpreter runs the program instead, unless the event is plain, its
// $meta fields the program reads are strings or absent (so they need no
// conversion and keep the output plain), the context is live and the Go
// code handles the input.
func (t *Transform) runDirect(ctx context.Context, ev engine.Event) ([]engine.Event, bool) {
	if !ev.Plain || ctx.Err() != nil {
		return nil, false
	}
	var fields [3]any // as they are boxed: no new allocation
	for i, k := range [...]string{engine.MetaID, engine.MetaPipeline, engine.MetaReceived} {
		switch v := ev.Meta[k]; v.(type) {
		case nil:
		case string:
			fields[i] = v
		default:
			return nil, false
		}
	}
	v := t.direct(ev.Value, fields[0], fields[1], fields[2])
	if v == nil {
		return nil, false
	}
	return []engine.Event{{Value: v, ID: ev.ID, Key: ev.Key, Meta: ev.Meta, Plain: true}}, true
}

// runError tells a failing program from one that ran out of time and from
// a run cancelled with its pipeline (parent is Apply's own context).
func (t *Transform) runError(parent context.Context, err error) error {
	switch {
	case parent.Err() != nil && errors.Is(err, parent.Err()):
		return fmt.Errorf("jq: run cancelled: %w", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("jq: program did not finish within %v: %w", t.timeout, err)
	default:
		return fmt.Errorf("jq: %w", err)
	}
}

// metaValue is ev.Meta as the object gojq expects. engine.Meta is a named
// map type, which gojq would reject, and it may hold Go values (header maps)
// that need converting.
func metaValue(m engine.Meta) (any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	return jsonvalue.ForJQ(map[string]any(m))
}

var _ engine.Transform = (*Transform)(nil)
