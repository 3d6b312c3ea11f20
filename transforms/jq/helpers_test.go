package jq_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/transforms/internal/jsonvalue"
	"github.com/connectord/connectord/transforms/jq"
)

// inline is a program written as a plain scalar at the start of line 1.
func inline(program string) config.Text {
	return config.Text{Value: program, Pos: config.Position{File: "pipelines/p.yaml", Line: 1, Col: 1}}
}

// build compiles program as a `jq` transform of pipelines/p.yaml.
func build(t testing.TB, program string) engine.Transform {
	t.Helper()
	o := &jq.Options{Program: inline(program), Timeout: config.Duration(jq.DefaultTimeout)}
	tr, err := o.NewTransform(engine.BuildContext{Pipeline: "p", File: "pipelines/p.yaml"})
	if err != nil {
		t.Fatalf("compile %q: %v", program, err)
	}
	return tr
}

// decode parses JSON the way sources do, numbers as json.Number.
func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := jsonvalue.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// run applies tr and returns the outputs as one JSON array.
func run(t testing.TB, tr engine.Transform, input any, meta engine.Meta) string {
	t.Helper()
	evs, err := tr.Apply(context.Background(), engine.Event{Value: input, ID: "ev-1", Key: "k-1", Meta: meta})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	vals := make([]any, len(evs))
	for i, ev := range evs {
		vals[i] = ev.Value
	}
	b, err := json.Marshal(vals)
	if err != nil {
		t.Fatalf("outputs are not JSON: %v", err)
	}
	return string(b)
}

// canonical re-marshals JSON text so that key order and spacing do not
// matter in comparisons.
func canonical(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(decode(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
