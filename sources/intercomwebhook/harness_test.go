package intercomwebhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner/runnertest"
	"github.com/connectord/connectord/engine/store"
)

const (
	testSecret   = "s3cr3t-client-secret"
	testPipeline = runnertest.Pipeline
	testPath     = "/webhooks/intercom"
)

// hubSignature is computed here, independently of SignIntercom.
func hubSignature(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

type harness struct{ *runnertest.Harness }

type harnessOpts struct {
	dir     string
	clock   engine.Clock
	wrap    func(store.Store) store.Store
	sweep   time.Duration
	options func(*Options)
}

// startHarness runs an intercom_webhook (secret testSecret, path testPath)
// over a real store and HTTP server.
func startHarness(t *testing.T, ho harnessOpts) harness {
	t.Helper()
	opts := newOptions()
	opts.Path = testPath
	opts.ClientSecret = testSecret
	if ho.options != nil {
		ho.options(opts)
	}
	src, err := opts.NewSource(engine.BuildContext{Pipeline: testPipeline, Clock: ho.clock})
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	s := src.(*Source)
	s.sweepEvery = ho.sweep
	return harness{runnertest.Start(t, runnertest.Config{Source: s, Kind: Kind, Dir: ho.dir, Clock: ho.clock, Wrap: ho.wrap})}
}

// post sends body with the given X-Hub-Signature ("" sends none) and extra
// header pairs.
func (h harness) post(body []byte, sig string, extra ...string) runnertest.Response {
	h.T.Helper()
	hdr := []string{"User-Agent", "intercom-parrot-service-client/1.0"}
	if sig != "" {
		hdr = append(hdr, "X-Hub-Signature", sig)
	}
	return h.Post(body, append(hdr, extra...)...)
}

func (h harness) postSigned(body []byte) runnertest.Response {
	h.T.Helper()
	return h.post(body, hubSignature(testSecret, body))
}

func fixture(t *testing.T) []byte {
	t.Helper()
	// A copy of shared/fixtures/intercom/webhook-conversation-user-created.json.
	b, err := os.ReadFile("testdata/conversation-user-created.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// notification is a minimal Intercom notification ("" id: none).
func notification(id, topic, itemID string) []byte {
	n := map[string]any{
		"type": "notification_event", "id": id, "topic": topic, "app_id": "abc123",
		"data":       map[string]any{"type": "notification_event_data", "item": map[string]any{"type": "conversation", "id": itemID}},
		"created_at": 1719492795,
	}
	if id == "" {
		delete(n, "id")
	}
	b, _ := json.Marshal(n)
	return b
}
