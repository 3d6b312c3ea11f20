package filter_test

import (
	"context"
	"os"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/transforms/jq"
)

const (
	fixture       = "testdata/conversation-user-created.json"
	benchFilter   = `all(event.message.events, .eventType != "DELETED")`
	benchPipeline = "intercom-webhooks"
)

// webhookEvent is the real Intercom notification, decoded as a source
// would, with the metadata the webhook source sets.
func webhookEvent(b *testing.B) engine.Event {
	raw, err := os.ReadFile(fixture)
	if err != nil {
		b.Fatal(err)
	}
	return engine.Event{
		Value: decode(b, string(raw)),
		ID:    "notif_123456-56465-546546",
		Key:   "123456789",
		Meta: engine.Meta{
			"pipeline": benchPipeline, "source": "intercom_webhook", "received": "2024-06-27T12:53:15Z",
			"id":      "notif_123456-56465-546546",
			"headers": map[string]any{"content-type": "application/json", "user-agent": "intercom-parrot-service-client/1.0"},
		},
	}
}

func buildJQ(b *testing.B) engine.Transform {
	o := &jq.Options{Program: config.Text{Value: `include "intercom"; webhook_event`}, Timeout: config.Duration(jq.DefaultTimeout)}
	tr, err := o.NewTransform(engine.BuildContext{Pipeline: benchPipeline})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

func BenchmarkFilter(b *testing.B) {
	ctx := context.Background()
	envs, err := buildJQ(b).Apply(ctx, webhookEvent(b))
	if err != nil || len(envs) != 1 {
		b.Fatal(envs, err)
	}
	f := build(b, benchFilter)
	b.ReportAllocs()
	for b.Loop() {
		if out, err := f.Apply(ctx, envs[0]); err != nil || len(out) != 1 {
			b.Fatal(out, err)
		}
	}
}

// BenchmarkJQAndFilter is the per-event cost of the usual webhook pipeline's
// transforms: the intercom module's webhook_event, then a filter.
func BenchmarkJQAndFilter(b *testing.B) {
	ctx := context.Background()
	ev := webhookEvent(b)
	j, f := buildJQ(b), build(b, benchFilter)
	b.ReportAllocs()
	for b.Loop() {
		envs, err := j.Apply(ctx, ev)
		if err != nil || len(envs) != 1 {
			b.Fatal(envs, err)
		}
		if out, err := f.Apply(ctx, envs[0]); err != nil || len(out) != 1 {
			b.Fatal(out, err)
		}
	}
}
