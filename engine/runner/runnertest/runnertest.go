// Package runnertest runs a webhook source for tests the way the daemon
// does: a runner.Runtime over a real bbolt store in a temporary directory,
// the source mounted through Runtime.Apply, and the runtime's router served
// by a real HTTP server on 127.0.0.1.
package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// Pipeline is the name the harness runs the source under.
const Pipeline = "webhooks"

// Config says what to run.
type Config struct {
	Source engine.HTTPSource
	Kind   string // source kind, for $meta.source
	Dir    string // data directory; "" = a new t.TempDir()
	Clock  engine.Clock
	// Wrap, if set, wraps the store (to inject failures).
	Wrap func(store.Store) store.Store
}

// Harness is a running source.
type Harness struct {
	T     *testing.T
	Dir   string
	Store store.Store
	RT    *runner.Runtime
	Srv   *httptest.Server
	Sink  *RecordingSink
	Tap   *MetaTap
	path  string
	bolt  *store.Bolt
}

// Start runs cfg.Source until the test ends (or Stop).
func Start(t *testing.T, cfg Config) *Harness {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.SystemClock{}
	}
	bolt, err := store.Open(filepath.Join(cfg.Dir, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store = bolt
	if cfg.Wrap != nil {
		st = cfg.Wrap(bolt)
	}
	h := &Harness{T: t, Dir: cfg.Dir, Store: st, bolt: bolt, Sink: &RecordingSink{}, Tap: &MetaTap{}, path: cfg.Source.Path()}
	h.RT = runner.NewRuntime(runner.Options{Store: st, Clock: cfg.Clock})
	h.RT.Apply(context.Background(), []*runner.Built{{
		Spec: config.Pipeline{Name: Pipeline,
			Source: config.Component{Kind: cfg.Kind}, Sink: config.Component{Kind: "test"}},
		Source:     cfg.Source,
		Transforms: []engine.Transform{h.Tap},
		Sink:       h.Sink,
		Policy: engine.Policy{MaxInFlight: 8, Retry: engine.RetryPolicy{
			MaxAttempts: 3, Initial: time.Millisecond, Multiplier: 2, Max: 10 * time.Millisecond}},
		Hash: "test",
	}})
	h.Srv = httptest.NewServer(h.RT.Router())
	t.Cleanup(h.Stop)
	return h
}

// Stop shuts the server, the runtime and the store down, in that order. It
// is idempotent, so restart tests can call it before cleanup does.
func (h *Harness) Stop() {
	if h.Srv == nil {
		return
	}
	h.Srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.RT.Shutdown(ctx)
	if err := h.bolt.Close(); err != nil {
		h.T.Errorf("closing store: %v", err)
	}
	h.Srv = nil
}

// Response is a decoded answer.
type Response struct {
	Code   int
	Header http.Header
	Status string `json:"status"`
	Events int    `json:"events"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// Post sends body to the source's path with headers given as name, value
// pairs (a name may repeat).
func (h *Harness) Post(body []byte, headers ...string) Response {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodPost, h.Srv.URL+h.path, bytes.NewReader(body))
	if err != nil {
		h.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return h.Do(req)
}

// NewRequest makes a request to the source's path.
func (h *Harness) NewRequest(method string, body io.Reader) *http.Request {
	h.T.Helper()
	req, err := http.NewRequest(method, h.Srv.URL+h.path, body)
	if err != nil {
		h.T.Fatal(err)
	}
	return req
}

// Do sends req and decodes the JSON answer (a HEAD answer has no body).
func (h *Harness) Do(req *http.Request) Response {
	h.T.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.T.Fatal(err)
	}
	r := Response{Code: resp.StatusCode, Header: resp.Header}
	if req.Method != http.MethodHead {
		if err := json.Unmarshal(raw, &r); err != nil {
			h.T.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
		}
	}
	return r
}

// Counters are the pipeline's totals.
func (h *Harness) Counters() *runner.Counters { return h.RT.Counters(Pipeline) }

// AssertNotEmitted checks that no request reached Emit, so nothing was
// stored.
func (h *Harness) AssertNotEmitted() {
	h.T.Helper()
	if in := h.Counters().In.Load(); in != 0 {
		h.T.Fatalf("%d events handed to Emit, want none", in)
	}
	h.AssertNothingStored()
}

// AssertNothingStored checks that no event, dead letter or dedupe mark
// reached the store.
func (h *Harness) AssertNothingStored() {
	h.T.Helper()
	if stored := h.Counters().Stored.Load(); stored != 0 {
		h.T.Fatalf("%d events stored, want none", stored)
	}
	stats, err := h.Store.Stats(context.Background(), Pipeline)
	if err != nil {
		h.T.Fatal(err)
	}
	if stats.Queued != 0 || stats.DeadLetters != 0 {
		h.T.Fatalf("store stats %+v, want empty", stats)
	}
	if keys := h.StateKeys("dedupe"); len(keys) != 0 {
		h.T.Fatalf("dedupe state written: %v", keys)
	}
}

// StateKeys lists the pipeline's state keys with prefix.
func (h *Harness) StateKeys(prefix string) []string {
	h.T.Helper()
	var keys []string
	err := h.Store.Scan(context.Background(), Pipeline, prefix, func(k string, _ []byte) bool {
		keys = append(keys, k)
		return true
	})
	if err != nil {
		h.T.Fatal(err)
	}
	return keys
}

// HasMark says whether the dedupe mark of id is stored.
func (h *Harness) HasMark(id string) bool {
	h.T.Helper()
	_, err := h.Store.Value(context.Background(), Pipeline, "dedupe/"+id)
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		return false
	default:
		h.T.Fatal(err)
		return false
	}
}

// WaitFor polls cond until it holds or 20 s pass.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}
