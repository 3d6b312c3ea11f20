package filter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/transforms/filter"
	"github.com/connectord/connectord/transforms/internal/jsonvalue"
)

func build(t testing.TB, expression string) engine.Transform {
	t.Helper()
	o := &filter.Options{Expression: config.Text{Value: expression, Pos: config.Position{File: "p.yaml", Line: 1, Col: 1}}}
	tr, err := o.NewTransform(engine.BuildContext{File: "p.yaml"})
	if err != nil {
		t.Fatalf("compile %q: %v", expression, err)
	}
	return tr
}

func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := jsonvalue.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// envelope is a callback envelope as the intercom jq module makes it; its
// numbers are json.Number, as sources decode them.
const envelope = `{"message":{"eventId":"n1","elementKey":"intercom","instanceName":"hooks",
  "events":[{"objectType":"conversations","objectId":"1","eventType":"UPDATED"}],
  "raw":{"topic":"conversation.admin.replied","delivery_attempts":2,"data":{"item":{"id":"1","open":true}}}}}`

func TestKeepOrDrop(t *testing.T) {
	tests := []struct {
		expression string
		keep       bool
	}{
		{`true`, true},
		{`false`, false},
		{`all(event.message.events, .eventType != "DELETED")`, true},
		{`any(event.message.events, .eventType == "DELETED")`, false},
		{`event.message.raw.topic startsWith "conversation."`, true},
		{`event.message.raw.delivery_attempts > 1`, true}, // json.Number compares as a number
		{`event.message.raw.delivery_attempts == 2`, true},
		{`event.message.raw.data.item.open == true`, true},
		{`meta.pipeline == "hooks" && meta.source == "intercom_webhook"`, true},
		{`meta.headers["x-test"] == "1"`, true},
		{`"missing" in meta`, false},
		{`event.message.raw.data.item.missing == true`, false},
	}
	meta := engine.Meta{"pipeline": "hooks", "source": "intercom_webhook", "headers": map[string]string{"x-test": "1"}}
	value := decode(t, envelope)
	for _, tt := range tests {
		ev := engine.Event{Value: value, ID: "id", Key: "key", Meta: meta}
		evs, err := build(t, tt.expression).Apply(t.Context(), ev)
		if err != nil {
			t.Errorf("%s: %v", tt.expression, err)
			continue
		}
		if got := len(evs) == 1; got != tt.keep || len(evs) > 1 {
			t.Errorf("%s: kept %d events, want keep=%v", tt.expression, len(evs), tt.keep)
			continue
		}
		if tt.keep && (evs[0].ID != "id" || evs[0].Key != "key" || evs[0].Value == nil) {
			t.Errorf("%s: kept event changed: %+v", tt.expression, evs[0])
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct{ expression, want string }{
		{`event.missing.foo() == 1`, "filter: at 1:15 of the expression: cannot fetch foo from <nil>"},
		{`event.message.nope.deeper == 1`, "cannot fetch deeper from <nil>"},
	}
	for _, tt := range tests {
		_, err := build(t, tt.expression).Apply(t.Context(), engine.Event{Value: decode(t, envelope)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.expression, err, tt.want)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := build(t, `true`).Apply(ctx, engine.Event{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// The Texts are what the decoder makes of the YAML shown beside them.
func TestCompileErrorPositions(t *testing.T) {
	const file = "pipelines/convs.yaml"
	tests := []struct {
		name string
		text config.Text
		want string
	}{{
		// 14|      - filter: event.a == | 2
		name: "plain",
		text: config.Text{Value: `event.a == | 2`, Pos: config.Position{File: file, Line: 14, Col: 17}},
		want: file + `:14:28: filter: unexpected token Operator("|")`,
	}, {
		// 8|      - filter: "event.a == 1 && (event.b"
		name: "double quoted",
		text: config.Text{Value: `event.a == 1 && (event.b`, Style: yaml.DoubleQuotedStyle,
			Pos: config.Position{File: file, Line: 8, Col: 17}},
		want: file + `:8:41: filter: unexpected token EOF`,
	}, {
		// 30|      - filter: |
		// 31|          event.a == 1 &&
		// 32|            event.b ==* 2
		name: "literal block",
		text: config.Text{Value: "event.a == 1 &&\n  event.b ==* 2\n", Style: yaml.LiteralStyle, Indent: 11,
			Pos: config.Position{File: file, Line: 30, Col: 17}},
		want: file + `:32:23: filter: unexpected token Operator("*")`,
	}, {
		// 5|  filter: 'event.a + 1'
		name: "not boolean",
		text: config.Text{Value: `len(event.a) + 1`, Style: yaml.SingleQuotedStyle, Pos: config.Position{File: file, Line: 5, Col: 11}},
		want: file + `:5:12: filter: expected bool, but got int`,
	}, {
		// 7|  filter: 'event.message.events[0].eventType'
		name: "type known only at run time",
		text: config.Text{Value: `event.message.events[0].eventType`, Style: yaml.SingleQuotedStyle, Pos: config.Position{File: file, Line: 7, Col: 11}},
		want: file + `:7:12: filter: expected a boolean expression, but this one's type is known only at run time ` +
			`(every event would dead-letter): compare the value (== "CREATED"), or write == true for a field that holds true or false`,
	}, {
		// 6|  filter: nope == 1
		name: "unknown name",
		text: config.Text{Value: `nope == 1`, Pos: config.Position{File: file, Line: 6, Col: 11}},
		want: file + `:6:11: filter: unknown name nope`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&filter.Options{Expression: tt.text}).NewTransform(engine.BuildContext{File: file})
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want a *config.Error", err, err)
			}
			if got := ce.Error(); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEmptyExpression(t *testing.T) {
	_, err := (&filter.Options{}).NewTransform(engine.BuildContext{})
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Field != "expression" {
		t.Errorf("got %v, want a FieldError on expression", err)
	}
}

func TestRegisteredWithShorthand(t *testing.T) {
	if !slices.Contains(engine.Kinds[engine.TransformConfig](), "filter") {
		t.Errorf("filter is not registered")
	}
	if f := (&filter.Options{}).ShorthandField(); f != "expression" {
		t.Errorf("shorthand field = %q", f)
	}
}

func TestConcurrentApply(t *testing.T) {
	tr := build(t, `event.n % 2 == 0 && meta.pipeline == "p"`)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				n := g*1000 + i
				evs, err := tr.Apply(context.Background(), engine.Event{Value: map[string]any{"n": n}, Meta: engine.Meta{"pipeline": "p"}})
				if err != nil {
					errs <- err
					return
				}
				if kept := len(evs) == 1; kept != (n%2 == 0) {
					errs <- fmt.Errorf("n=%d: kept=%v", n, kept)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
