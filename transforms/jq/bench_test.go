package jq_test

import (
	"context"
	"testing"

	"github.com/connectord/connectord/engine"
)

// BenchmarkJQWebhookEvent runs the shipped module over the real Intercom
// notification, decoded as a source would.
func BenchmarkJQWebhookEvent(b *testing.B) {
	tr := build(b, `include "intercom"; webhook_event`)
	ev := engine.Event{
		Value: decode(b, readFile(b, goldenDir+"/webhook-conversation-user-created", "input.json")),
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
