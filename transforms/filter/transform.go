package filter

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/transforms/internal/jsonvalue"
)

// env is what an expression sees. A struct, rather than a map, lets expr
// type-check names at compile time and load fields without hashing.
type env struct {
	Event any            `expr:"event"`
	Meta  map[string]any `expr:"meta"`
}

// runner is a reusable VM and environment; pooling both keeps Apply from
// allocating them per event. A vm.VM is not safe for concurrent use.
type runner struct {
	vm  vm.VM
	env env
}

var runners = sync.Pool{New: func() any { return new(runner) }}

// Transform keeps the events its expression holds true for. It is safe for
// concurrent use: the compiled program is immutable and each run borrows
// its own VM.
type Transform struct {
	program *vm.Program
}

// Apply returns the event if the expression is true, nothing if it is
// false, and an error if the expression fails or does not yield a boolean.
func (t *Transform) Apply(ctx context.Context, ev engine.Event) ([]engine.Event, error) {
	keep, err := t.Keep(ctx, ev)
	if !keep || err != nil {
		return nil, err
	}
	return []engine.Event{ev}, nil
}

// Keep reports whether the expression is true for ev (engine.Predicate).
func (t *Transform) Keep(ctx context.Context, ev engine.Event) (bool, error) {
	// expr has no loops that could outlive an event, so checking once suffices.
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("filter: %w", err)
	}
	return t.eval(ev)
}

var _ engine.Predicate = (*Transform)(nil)

func (t *Transform) eval(ev engine.Event) (bool, error) {
	value := ev.Value
	if !ev.Plain {
		var err error
		if value, err = jsonvalue.ForExpr(ev.Value); err != nil {
			return false, fmt.Errorf("filter: event: %w", err)
		}
	}
	meta, err := jsonvalue.ForExpr(map[string]any(ev.Meta))
	if err != nil {
		return false, fmt.Errorf("filter: meta: %w", err)
	}
	r := runners.Get().(*runner)
	r.env = env{Event: value, Meta: meta.(map[string]any)}
	out, err := r.vm.Run(t.program, &r.env)
	// Do not keep the event alive in the pool.
	r.env = env{}
	clear(r.vm.Stack[:cap(r.vm.Stack)])
	clear(r.vm.Variables)
	runners.Put(r)
	if err != nil {
		return false, runError(err)
	}
	keep, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("filter: expression gave %T (%v), not a boolean", out, out)
	}
	return keep, nil
}

// runError keeps expr's message and its place in the expression, but drops
// the multi-line source snippet, which does not belong in a log line.
func runError(err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return fmt.Errorf("filter: %w", err)
	}
	if fe.Prev != nil {
		return fmt.Errorf("filter: at %d:%d of the expression: %w", fe.Line, fe.Column+1, fe.Prev)
	}
	return fmt.Errorf("filter: at %d:%d of the expression: %s", fe.Line, fe.Column+1, fe.Message)
}

var _ engine.Transform = (*Transform)(nil)
