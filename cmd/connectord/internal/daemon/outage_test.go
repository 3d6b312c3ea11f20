package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/engine/runner"
	_ "github.com/connectord/connectord/sources/webhook"
)

// switchReceiver answers 503 while down, else 200, counting 2xx events.
type switchReceiver struct {
	*httptest.Server
	down      atomic.Bool
	delivered atomic.Int64
}

func newSwitchReceiver(t *testing.T) *switchReceiver {
	t.Helper()
	r := &switchReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.delivered.Add(1)
	}))
	t.Cleanup(r.Close)
	return r
}

const inboxPipeline = `name: inbox
max_queue_events: %d
source:
  webhook: {path: /in, verify: none}
sink:
  http: {url: %q, retry: {initial_interval: 5ms, max_interval: 5ms, max_attempts: 1000}}
`

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestQueueLimitRefusesThenAccepts: with the receiver down and the queue at
// max_queue_events, a webhook is answered 503 with Retry-After and nothing
// is stored; once the receiver is back and the queue drains, the sender's
// retry is accepted. Meanwhile the endpoint goes down, /readyz says which
// pipeline's endpoint, and /metrics shows it; once the receiver is back it
// is up and /readyz 200 again.
func TestQueueLimitRefusesThenAccepts(t *testing.T) {
	recv := newSwitchReceiver(t)
	recv.down.Store(true)
	dir, _ := pipelineDir(t, "inbox.yaml", fmt.Sprintf(inboxPipeline, 12, recv.URL))
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir: dir, DataDir: filepath.Join(dir, "..", "data"), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		Breaker: runner.Breaker{TripAfter: 5, ProbeInitial: 5 * time.Millisecond, ProbeMax: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	in := "http://" + d.ListenAddr() + "/in"
	for i := range 12 {
		if resp := post(t, in, fmt.Sprintf(`{"id": "e%d", "n": %d}`, i, i)); resp.StatusCode != http.StatusOK {
			t.Fatalf("event %d under the limit: %d", i, resp.StatusCode)
		}
	}
	resp := post(t, in, `{"id": "e12", "n": 12}`)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("event over the limit: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if s, _ := d.Store().Stats(context.Background(), "inbox"); s.Queued != 12 {
		t.Fatalf("queued %d, want 12: the refused event must not be stored", s.Queued)
	}

	admin := "http://" + d.AdminAddr()
	eventually(t, "readyz names the down endpoint", func() bool {
		code, v := getJSON(t, admin+"/readyz")
		reason, _ := v["reason"].(string)
		return code == http.StatusServiceUnavailable && strings.Contains(reason, "pipeline inbox: endpoint") && strings.Contains(reason, "down")
	})
	if !bytes.Contains(scrape(t, admin), []byte(`connectord_endpoint_up{endpoint="`+recv.URL+`",pipeline="inbox"} 0`)) {
		t.Errorf("metrics do not show the endpoint down")
	}

	recv.down.Store(false)
	eventually(t, "backlog delivered", func() bool { return recv.delivered.Load() == 12 })
	eventually(t, "queue drained", func() bool {
		s, _ := d.Store().Stats(context.Background(), "inbox")
		return s.Queued == 0
	})
	if resp := post(t, in, `{"id": "e12", "n": 12}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("retry after the queue drained: %d", resp.StatusCode)
	}
	eventually(t, "ready again", func() bool {
		code, _ := getJSON(t, admin+"/readyz")
		return code == http.StatusOK
	})
}

func scrape(t *testing.T, admin string) []byte {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestWebhookListenerAnswers503UntilApplied: between binding the webhook
// listener and applying the pipelines, a webhook to a path that is about
// to exist is answered 503 with Retry-After, never 404; right after Start
// it is served.
func TestWebhookListenerAnswers503UntilApplied(t *testing.T) {
	recv := newSwitchReceiver(t)
	dir, _ := pipelineDir(t, "inbox.yaml", fmt.Sprintf(inboxPipeline, 100, recv.URL))
	cfg := daemon.Config{ConfigDir: dir, DataDir: filepath.Join(dir, "..", "data"), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	var early *http.Response
	var readyEarly int
	daemon.SetBeforeApply(&cfg, func(d *daemon.Daemon) {
		early = post(t, "http://"+d.ListenAddr()+"/in", `{"id": "early"}`)
		readyEarly, _ = getJSON(t, "http://"+d.AdminAddr()+"/readyz")
	})
	d, err := daemon.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	if early.StatusCode != http.StatusServiceUnavailable || early.Header.Get("Retry-After") == "" {
		t.Fatalf("webhook while starting: %d, Retry-After %q; want 503 with Retry-After", early.StatusCode, early.Header.Get("Retry-After"))
	}
	if readyEarly != http.StatusServiceUnavailable {
		t.Errorf("/readyz while starting: %d, want 503", readyEarly)
	}
	if resp := post(t, "http://"+d.ListenAddr()+"/in", `{"id": "late"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook after Start: %d", resp.StatusCode)
	}
}
