package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
	"github.com/connectord/connectord/engine/store/storeurl"
	_ "github.com/connectord/connectord/sources/webhook"
)

const hookPipeline = `name: hooks
source:
  webhook: {path: /in, verify: none, dedupe_window: 3s}
sink:
  http: {url: %q, signature: {key: k}, retry: {initial_interval: 10ms}}
`

// On --store nats://…, a webhook's dedupe mark outlives a connectord
// restart (it is in the stream) and expires after the window.
func TestNATSStoreDedupeSurvivesRestartAndExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a dedupe window")
	}
	c, err := natstest.Start(natstest.Config{Dir: t.TempDir(), Servers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	recv := &collector{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	dir, _ := pipelineDir(t, "hooks.yaml", fmt.Sprintf(hookPipeline, srv.URL))
	spec := storeurl.Spec{URL: c.URLs() + "?replicas=1&stream=HOOKS"}
	startD := func() *daemon.Daemon {
		d, err := daemon.Start(context.Background(), daemon.Config{
			ConfigDir: dir, DataDir: filepath.Join(t.TempDir(), "data"), Store: spec, Listen: "127.0.0.1:0",
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	post := func(d *daemon.Daemon) string {
		req, _ := http.NewRequest(http.MethodPost, "http://"+d.ListenAddr()+"/in", strings.NewReader(`{"n":1}`))
		req.Header.Set("webhook-id", "msg-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Status string }
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST: %d %s", resp.StatusCode, v.Status)
		}
		return v.Status
	}
	all := func(map[string]any) bool { return true }

	d := startD()
	first := time.Now()
	if got := post(d); got != "stored" {
		t.Fatalf("first POST: %s", got)
	}
	eventually(t, "the callback", func() bool { return recv.count(all) == 1 })
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	d = startD()
	defer d.Shutdown(context.Background())
	if got := post(d); got == "stored" || time.Since(first) >= 3*time.Second {
		t.Fatalf("POST after restart: %s after %s, want a duplicate inside the window", got, time.Since(first))
	}
	// After the window (and the sweep that follows it) the id is new again.
	// One POST per 100 ms while waiting, not one per eventually's tick.
	resend := time.NewTicker(100 * time.Millisecond)
	defer resend.Stop()
	eventually(t, "the mark to expire", func() bool {
		<-resend.C
		return post(d) == "stored"
	})
	if since := time.Since(first); since < 3*time.Second {
		t.Fatalf("mark expired after %s, before the 3s window", since)
	}
	eventually(t, "the second callback", func() bool { return recv.count(all) == 2 })
}
