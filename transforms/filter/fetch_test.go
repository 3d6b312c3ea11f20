package filter

import (
	"context"
	"fmt"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

func compile(t *testing.T, expression string) *Transform {
	t.Helper()
	tr, err := (&Options{Expression: config.Text{Value: expression}}).NewTransform(engine.BuildContext{})
	if err != nil {
		t.Fatalf("%s: %v", expression, err)
	}
	return tr.(*Transform)
}

// fetches counts the member reads compiled as fetch calls.
func fetches(tr *Transform) int {
	var c fetchCounter
	n := tr.program.Node()
	ast.Walk(&n, &c)
	return c.n
}

type fetchCounter struct{ n int }

func (c *fetchCounter) Visit(node *ast.Node) {
	if call, ok := (*node).(*ast.CallNode); ok {
		if id, ok := call.Callee.(*ast.IdentifierNode); ok && id.Value == fetchName {
			c.n++
		}
	}
}

func TestMemberReadsGoThroughFetch(t *testing.T) {
	event := map[string]any{
		"message": map[string]any{"events": []any{map[string]any{"eventType": "CREATED"}}, "none": nil},
		"list":    []any{"a", "b"},
		"text":    "abc",
	}
	tests := []struct {
		expression string
		fetches    int // member reads made through fetch
		keep       bool
		err        string // the run-time error, if one is expected
	}{
		{`event.message.events[0].eventType == "CREATED"`, 3, true, ""},
		{`event["message"]["events"][0]["eventType"] == "CREATED"`, 3, true, ""},
		{`event.missing == nil`, 1, true, ""},
		{`event.message.none == nil`, 2, true, ""},
		{`event.list[1] == "b"`, 1, true, ""},
		{`all(event.message.events, .eventType != "DELETED")`, 3, true, ""},
		{`meta.pipeline == "p" && meta.headers.host == "h"`, 3, true, ""},
		// Optional chains stay member reads: a nil a ends a?.b.c.
		{`event.missing?.b.c == nil`, 1, true, ""},
		{`event?.message.events[0].eventType == "CREATED"`, 0, true, ""},
		// Errors are runtime.Fetch's, at the member's place.
		{`event.missing.deeper == 1`, 2, false, "filter: at 1:15 of the expression: cannot fetch deeper from <nil>"},
		{`event.text.x == 1`, 2, false, "filter: at 1:12 of the expression: invalid operation: int(string)"},
		{`event.list.x == 1`, 2, false, "filter: at 1:12 of the expression: invalid operation: int(string)"},
		{`event.message.events[5].eventType == 1`, 3, false, "filter: at 1:21 of the expression: index out of range: 5 (array length is 1)"},
	}
	meta := engine.Meta{"pipeline": "p", "headers": map[string]any{"host": "h"}}
	for _, tt := range tests {
		tr := compile(t, tt.expression)
		if got := fetches(tr); got != tt.fetches {
			t.Errorf("%s: %d member reads through fetch, want %d", tt.expression, got, tt.fetches)
		}
		ev := engine.Event{Value: event, Meta: meta, Plain: true}
		keep, err := tr.Keep(context.Background(), ev)
		switch {
		case tt.err != "":
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s: got %v, want the error %q", tt.expression, err, tt.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.expression, err)
		case keep != tt.keep:
			t.Errorf("%s: keep %v, want %v", tt.expression, keep, tt.keep)
		}
		// expr's own member reads give the same outcome, word for word.
		program, cerr := expr.Compile(tt.expression, expr.Env(env{}), expr.AsBool())
		if cerr != nil {
			t.Fatalf("%s: %v", tt.expression, cerr)
		}
		refKeep, refErr := (&Transform{program: program}).Keep(context.Background(), ev)
		if refKeep != keep || fmt.Sprint(refErr) != fmt.Sprint(err) {
			t.Errorf("%s: (%v, %v) through fetch, (%v, %v) through expr", tt.expression, keep, err, refKeep, refErr)
		}
	}
}
