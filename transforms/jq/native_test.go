package jq_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/connectord/connectord/engine"
)

// TestWebhookEventFastMatchesJQ runs webhook_event (the Go fast path, with
// the jq definition behind it) and _webhook_event (the jq definition
// alone) over notifications of every shape the generator below can make,
// and wants the same outputs or the same error from both.
func TestWebhookEventFastMatchesJQ(t *testing.T) {
	fast := build(t, `include "intercom"; webhook_event`)
	slow := build(t, `include "intercom"; _webhook_event`)
	pick := func(r *rand.Rand, vs ...any) any { return vs[r.IntN(len(vs))] }
	ids := func(r *rand.Rand) any {
		return pick(r, "335", 335.0, 1.5, math.Copysign(0, -1), 1e21, 1e-7, 0.0, nil, false, true, map[string]any{"x": 1.0}, []any{1.0}, "", absent{})
	}
	times := func(r *rand.Rand) any {
		return pick(r, 1719492795.0, 1719492795.7, 0.0, -5.0, 3e11, 253402300799.0, 253402300800.0, "1719492795", "abc", "", nil, true, map[string]any{}, absent{})
	}
	r := rand.New(rand.NewPCG(16, 16))
	for i := range 1500 {
		item := map[string]any{}
		set(item, "id", ids(r))
		set(item, "updated_at", times(r))
		set(item, "type", pick(r, "conversation", absent{}))
		prefixObj := map[string]any{}
		set(prefixObj, "id", ids(r))
		set(item, pick(r, "contact", "conversation", "company", "tag").(string), pick(r, prefixObj, "s", absent{}))
		data := map[string]any{}
		set(data, "item", pick(r, item, item, item, nil, false, true, "s", 5.0, []any{}, absent{}))
		n := map[string]any{}
		set(n, "topic", pick(r, "conversation.user.created", "contact.tag.created", "contact.tag.deleted", "company.deleted",
			"conversation_part.tag.created", "visitor.signed_up", "x", "x.created", "a.b.note.c", "ping", "", ".", "a..b", 5.0, nil, absent{}))
		set(n, "data", pick(r, data, data, data, nil, "s", false, absent{}))
		set(n, "id", pick(r, "notif_1", 7.0, nil, absent{}))
		set(n, "created_at", times(r))
		var input any = n
		if r.IntN(50) == 0 {
			input = pick(r, []any{n}, "s", 1.0, nil)
		}
		meta := engine.Meta{"received": "2024-06-27T12:53:15Z"}
		set(meta, "id", pick(r, "m-1", "", nil, 5.0, absent{}))
		set(meta, "pipeline", pick(r, "p", nil, absent{}))
		if r.IntN(10) == 0 {
			delete(meta, "received")
		}
		ev := engine.Event{Value: input, ID: "ev", Meta: meta, Plain: true}
		got, gerr := outputs(fast, ev)
		want, werr := outputs(slow, ev)
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			in, _ := json.Marshal(input)
			m, _ := json.Marshal(meta)
			t.Fatalf("case %d: input %s meta %s:\n fast %s %v\n   jq %s %v", i, in, m, got, gerr, want, werr)
		}
	}
}

// absent marks a key the generator leaves out.
type absent struct{}

func set[M ~map[string]any](m M, k string, v any) {
	if _, ok := v.(absent); !ok {
		m[k] = v
	}
}

func outputs(tr engine.Transform, ev engine.Event) (string, error) {
	evs, err := tr.Apply(context.Background(), ev)
	if err != nil {
		return "", err
	}
	vals := make([]any, len(evs))
	for i, e := range evs {
		vals[i] = e.Value
	}
	b, err := json.Marshal(vals)
	return string(b), err
}
