package intercomwebhook

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/connectord/connectord/engine"
)

// discardHost takes every emit and stores nothing.
type discardHost struct{}

func (discardHost) Emit(context.Context, []engine.Event, ...engine.StateUpdate) error  { return nil }
func (discardHost) State(context.Context, string) ([]byte, bool, error)                { return nil, false, nil }
func (discardHost) ScanState(context.Context, string, func(string, []byte) bool) error { return nil }
func (discardHost) ReportError(error)                                                  {}

// BenchmarkHandler is the intake of one signed notification without the
// HTTP server and the store: read, verify, decode, decide, complete $meta,
// the dedupe keys, the reply (a unique id per request, as Intercom sends).
func BenchmarkHandler(b *testing.B) {
	fixture, err := os.ReadFile("testdata/conversation-user-created.json")
	if err != nil {
		b.Fatal(err)
	}
	opts := newOptions()
	opts.Path, opts.ClientSecret = testPath, testSecret
	src, err := opts.NewSource(engine.BuildContext{Pipeline: testPipeline})
	if err != nil {
		b.Fatal(err)
	}
	h := src.(*Source).Handler(discardHost{})
	bodies := make([][]byte, 1024)
	sigs := make([]string, len(bodies))
	for i := range bodies {
		bodies[i] = bytes.Replace(fixture, []byte(`"notif_`), fmt.Appendf(nil, `"notif_%d_`, i), 1)
		sigs[i] = hubSignature(testSecret, bodies[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		body := bodies[i%len(bodies)]
		req := httptest.NewRequest(http.MethodPost, testPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "intercom-parrot-service-client/1.0")
		req.Header.Set(SignatureHeader, sigs[i%len(sigs)])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		i++
	}
}
