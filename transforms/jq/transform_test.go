package jq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/transforms/jq"
)

func buildWithTimeout(t *testing.T, program string, timeout time.Duration) engine.Transform {
	t.Helper()
	o := &jq.Options{Program: inline(program), Timeout: config.Duration(timeout)}
	tr, err := o.NewTransform(engine.BuildContext{File: "p.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestFanOutCarriesIdentity(t *testing.T) {
	tr := build(t, `.items[] | {n: ., p: $meta.pipeline}`)
	meta := engine.Meta{"pipeline": "p1"}
	evs, err := tr.Apply(t.Context(), engine.Event{Value: decode(t, `{"items":[1,2,3]}`), ID: "id", Key: "key", Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	for i, ev := range evs {
		if ev.ID != "id" || ev.Key != "key" || ev.Meta["pipeline"] != "p1" {
			t.Errorf("event %d: identity not carried: %+v", i, ev)
		}
		if got := fmt.Sprint(ev.Value.(map[string]any)["n"]); got != fmt.Sprint(i+1) {
			t.Errorf("event %d: n = %s", i, got)
		}
	}
}

func TestNoOutputDropsEvent(t *testing.T) {
	for _, program := range []string{`empty`, `select(.keep)`, `halt`} {
		evs, err := build(t, program).Apply(t.Context(), engine.Event{Value: decode(t, `{"keep":false}`)})
		if err != nil || len(evs) != 0 {
			t.Errorf("%s: got %v, %v; want no events and no error", program, evs, err)
		}
	}
}

func TestRuntimeErrorFailsEvent(t *testing.T) {
	tests := []struct{ program, wantText string }{
		{`error("boom")`, "boom"},
		{`.a.b`, "expected an object"},
		{`1, error({"code": 7})`, `"code":7`},
		{`halt_error`, "halt"},
	}
	for _, tt := range tests {
		evs, err := build(t, tt.program).Apply(t.Context(), engine.Event{Value: decode(t, `{"a":"s"}`)})
		if err == nil || !strings.Contains(err.Error(), tt.wantText) || !strings.HasPrefix(err.Error(), "jq: ") {
			t.Errorf("%s: got %v, %v; want an error containing %q", tt.program, evs, err, tt.wantText)
		}
	}
}

func TestTimeoutStopsEndlessProgram(t *testing.T) {
	for _, program := range []string{`def f: f; f`, `last(repeat(.))`, `until(false; .)`} {
		tr := buildWithTimeout(t, program, 20*time.Millisecond)
		_, err := tr.Apply(t.Context(), engine.Event{Value: 1.0})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not finish within 20ms") {
			t.Errorf("%s: got %v, want a time-out error", program, err)
		}
	}
}

func TestCancelledContextStopsRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := build(t, `def f: f; f`).Apply(ctx, engine.Event{Value: 1.0})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("got %v, want a cancellation error", err)
	}
}

func TestTooManyOutputs(t *testing.T) {
	_, err := build(t, `repeat(.)`).Apply(t.Context(), engine.Event{Value: 1.0})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d outputs", jq.MaxOutputs)) {
		t.Errorf("got %v, want a too-many-outputs error", err)
	}
}

func TestGoValuesAreNormalised(t *testing.T) {
	// Sources may hand over Go types gojq would panic on.
	type rec struct {
		Name string `json:"name"`
	}
	in := map[string]any{
		"i64": int64(7), "u8": uint8(3), "f32": float32(1.5), "strs": []string{"a"},
		"hdr": map[string][]string{"x": {"1"}}, "rec": rec{"r"}, "t": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	meta := engine.Meta{"headers": map[string]string{"user-agent": "ua"}, "n": int64(2)}
	got := run(t, build(t, `[., $meta]`), in, meta)
	want := canonical(t, `[[{"f32":1.5,"hdr":{"x":["1"]},"i64":7,"rec":{"name":"r"},"strs":["a"],"t":"2024-01-02T03:04:05Z","u8":3},`+
		`{"headers":{"user-agent":"ua"},"n":2}]]`)
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestOutputsAreMarshalable(t *testing.T) {
	got := run(t, build(t, `[nan, infinite, -infinite, {a: nan}]`), nil, nil)
	want := fmt.Sprintf(`[[null,%v,%v,{"a":null}]]`, jsonFloat(math.MaxFloat64), jsonFloat(-math.MaxFloat64))
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func jsonFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestConcurrentApply(t *testing.T) {
	tr := build(t, `include "intercom"; webhook_event`)
	in := decode(t, readFile(t, goldenDir+"/webhook-conversation-user-created", "input.json"))
	want := run(t, tr, in, engine.Meta{"pipeline": "p"})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 50 {
				evs, err := tr.Apply(context.Background(), engine.Event{Value: in, Meta: engine.Meta{"pipeline": "p"}})
				if err != nil {
					errs <- err
					return
				}
				if len(evs) != 1 {
					errs <- fmt.Errorf("got %d events", len(evs))
					return
				}
				if b, _ := json.Marshal([]any{evs[0].Value}); string(b) != want {
					errs <- fmt.Errorf("got %s, want %s", b, want)
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
	if again := run(t, tr, in, engine.Meta{"pipeline": "p"}); again != want {
		t.Errorf("output changed after concurrent runs:\n%s\n%s", again, want)
	}
}

// TestPlainOutputs: a plain input gives plain outputs unless $meta holds
// a json.Number (which gojq passes through); a NaN output is plain once
// Marshalable has replaced it.
func TestPlainOutputs(t *testing.T) {
	tr := build(t, `{v: ., m: $meta, nan: nan}`)
	for _, c := range []struct {
		name  string
		ev    engine.Event
		plain bool
	}{
		{"plain input", engine.Event{Value: map[string]any{"a": 1.0}, Plain: true, Meta: engine.Meta{"x": "y"}}, true},
		{"not declared plain", engine.Event{Value: map[string]any{"a": 1.0}, Meta: engine.Meta{"x": "y"}}, false},
		{"number in meta", engine.Event{Value: map[string]any{"a": 1.0}, Plain: true, Meta: engine.Meta{"n": json.Number("1")}}, false},
	} {
		out, err := tr.Apply(context.Background(), c.ev)
		if err != nil || len(out) != 1 {
			t.Fatalf("%s: %v %v", c.name, out, err)
		}
		if out[0].Plain != c.plain {
			t.Errorf("%s: output Plain %v, want %v", c.name, out[0].Plain, c.plain)
		}
	}
}
