package jq_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/connectord/connectord/engine"
)

// BenchmarkJQWebhookEvent runs the shipped module over the real Intercom
// notification, decoded as the webhook sources do (numbers as float64, a
// plain value); JQ is the jq definition alone, without the Go fast path.
func BenchmarkJQWebhookEvent(b *testing.B) {
	for _, c := range []struct{ name, program string }{
		{"fast", `include "intercom"; webhook_event`},
		{"jq", `include "intercom"; _webhook_event`},
	} {
		b.Run(c.name, func(b *testing.B) { benchWebhookEvent(b, c.program) })
	}
}

func benchWebhookEvent(b *testing.B, program string) {
	tr := build(b, program)
	var value any
	if err := json.Unmarshal([]byte(readFile(b, goldenDir+"/webhook-conversation-user-created", "input.json")), &value); err != nil {
		b.Fatal(err)
	}
	ev := engine.Event{
		Value: value,
		Plain: true,
		ID:    "notif_123456-56465-546546",
		Key:   "123456789",
		Meta: engine.Meta{
			"pipeline": "intercom-webhooks", "source": "intercom_webhook", "received": "2024-06-27T12:53:15Z",
			"id":      "notif_123456-56465-546546",
			"headers": map[string]any{"content-type": "application/json", "user-agent": "intercom-parrot-service-client/1.0"},
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if out, err := tr.Apply(ctx, ev); err != nil || len(out) != 1 {
			b.Fatal(out, err)
		}
	}
}
