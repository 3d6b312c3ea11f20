package intercomwebhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

const fuzzMaxBody = 4096

// FuzzIntercomHandler throws arbitrary signatures, headers and bodies at
// the handler over a real store. Properties: it never panics or answers
// 5xx, every answer is JSON, and nothing reaches Emit unless the signature
// is valid for the body (checked with an independent HMAC).
func FuzzIntercomHandler(f *testing.F) {
	n := notification("notif_seed", "conversation.user.created", "1")
	f.Add(n, "", true, "X-Custom", "1")
	f.Add(n, "sha1=00", false, "Content-Type", "text/plain")
	f.Add(n, hubSignature("wrong", n), false, "X-Hub-Signature", "sha1=")
	f.Add(notification("notif_ping", "ping", ""), "", true, "", "")
	f.Add([]byte(`[1,2,3]`), "", true, "", "")
	f.Add([]byte(`{"id":{"x":1},"topic":5,"data":{"item":[]}}`), "", true, "", "")
	f.Add([]byte(`{"id":"a"} trailing`), "", true, "", "")
	f.Add(bytes.Repeat([]byte("x"), fuzzMaxBody+1), "", true, "", "")
	f.Add([]byte{}, "SHA1="+strings.Repeat("A", 40), false, "Authorization", "Bearer x")

	rt := fuzzRuntime(f)
	router := rt.Router()
	counters := rt.Counters(testPipeline)

	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool, hname, hval string) {
		if sign {
			sig = hubSignature(testSecret, body)
		}
		req := httptest.NewRequest(http.MethodPost, testPath, bytes.NewReader(body))
		if hname != "" {
			req.Header[hname] = []string{hval}
		}
		if sig != "" {
			req.Header["X-Hub-Signature"] = []string{sig}
		}
		// What the handler will see as the signature (a fuzzed header
		// name may set it too).
		seen := req.Header.Get("X-Hub-Signature")
		valid := strings.EqualFold(seen, hubSignature(testSecret, body))

		in, stored := counters.In.Load(), counters.Stored.Load()
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("answered %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", rec.Body)
		}
		if !valid {
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("invalid signature %q answered %d: %s", seen, rec.Code, rec.Body)
			}
			if counters.In.Load() != in || counters.Stored.Load() != stored {
				t.Fatalf("an event reached Emit for an invalid signature %q", seen)
			}
		}
		if len(body) > fuzzMaxBody && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("body of %d bytes answered %d", len(body), rec.Code)
		}
	})
}

func fuzzRuntime(f *testing.F) *runner.Runtime {
	bolt, err := store.Open(filepath.Join(f.TempDir(), "connectord.db"))
	if err != nil {
		f.Fatal(err)
	}
	opts := newOptions()
	opts.Path, opts.ClientSecret, opts.MaxBody = testPath, testSecret, fuzzMaxBody
	src, err := opts.NewSource(engine.BuildContext{Pipeline: testPipeline})
	if err != nil {
		f.Fatal(err)
	}
	rt := runner.NewRuntime(runner.Options{Store: bolt})
	rt.Apply(context.Background(), []*runner.Built{{
		Spec:   config.Pipeline{Name: testPipeline, Source: config.Component{Kind: Kind}, Sink: config.Component{Kind: "test"}},
		Source: src, Sink: discardSink{}, Policy: engine.DefaultPolicy, Hash: "fuzz",
	}})
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rt.Shutdown(ctx)
		_ = bolt.Close()
	})
	return rt
}

// discardSink accepts every delivery and keeps nothing (fuzzing runs long).
type discardSink struct{}

func (discardSink) Deliver(context.Context, engine.Delivery) error { return nil }
