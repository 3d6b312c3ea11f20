package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/engine/config"
)

// startStatusDaemon runs a daemon with one generator pipeline whose two
// events a receiver answering 400 dead-letters.
func startStatusDaemon(t *testing.T, token string) *daemon.Daemon {
	t.Helper()
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	t.Cleanup(rc.Close)
	dir := t.TempDir()
	pipeline := fmt.Sprintf("name: orders\nsource:\n  generator: {interval: 5ms, count: 2}\nsink:\n  http: {url: %s}\n", rc.URL)
	if err := os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte(pipeline), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir: dir, DataDir: t.TempDir(), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		AdminToken: config.Secret(token),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	eventually(t, 15*time.Second, func() bool { return d.Runtime().Counters("orders").DeadLettered.Load() >= 2 },
		func() string { return "timed out waiting for two dead letters" })
	return d
}

func runStatus(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(append([]string{"status"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestStatusCommandTable(t *testing.T) {
	t.Setenv("CONNECTORD_ADMIN_TOKEN", "")
	d := startStatusDaemon(t, "")
	code, out, errs := runStatus("--admin", d.AdminAddr())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[4], "secrets at rest: not encrypted") ||
		!strings.HasPrefix(lines[5], "replica "+d.ReplicaID()+" · replicas: "+d.ReplicaID()+" (this, ") {
		t.Fatalf("want a header, one row, the endpoint, the reload, the secrets and the replica line:\n%s", out)
	}
	lines = lines[:4]
	if !strings.HasSuffix(lines[2], ": endpoint up") || !strings.HasPrefix(lines[2], "http://127.0.0.1:") {
		t.Errorf("endpoint line = %q", lines[2])
	}
	lines = append(lines[:2], lines[3])
	header := strings.Fields(lines[0])
	if strings.Join(header, " ") != "NAME STATE UP QUEUED OLDEST DEAD DELIVERED/MIN LAG LAST ERROR" {
		t.Errorf("header = %q", lines[0])
	}
	row := strings.Fields(lines[1])
	// NAME STATE UP QUEUED OLDEST DEAD DELIVERED/MIN LAG LAST-ERROR...
	if len(row) < 9 || row[0] != "orders" || row[1] != "running" || !strings.HasSuffix(row[2], "s") || row[3] != "0" ||
		row[4] != "-" || row[5] != "2" || row[6] != "0.0" || row[7] != "-" || !strings.Contains(lines[1], "HTTP 400") {
		t.Errorf("row = %q", lines[1])
	}
	// Columns are aligned: STATE starts at the same offset in both lines.
	if strings.Index(lines[0], "STATE") != strings.Index(lines[1], "running") {
		t.Errorf("columns are not aligned:\n%s\n%s", lines[0], lines[1])
	}
	if !strings.HasPrefix(lines[2], "last reload: ok at ") || !strings.Contains(lines[2], "started orders") {
		t.Errorf("reload line = %q", lines[2])
	}
}

func TestStatusCommandJSON(t *testing.T) {
	t.Setenv("CONNECTORD_ADMIN_TOKEN", "")
	d := startStatusDaemon(t, "")
	code, out, errs := runStatus("--admin", "http://"+d.AdminAddr(), "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var resp admin.PipelinesResponse
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("--json output is not the API's JSON: %v\n%s", err, out)
	}
	if len(resp.Pipelines) != 1 || resp.Pipelines[0].Name != "orders" || resp.Pipelines[0].DeadLetters != 2 || !resp.Reload.OK {
		t.Errorf("--json = %+v", resp)
	}
}

func TestStatusCommandToken(t *testing.T) {
	const token = "status-token-91b"
	d := startStatusDaemon(t, token)

	t.Setenv("CONNECTORD_ADMIN_TOKEN", "")
	code, _, errs := runStatus("--admin", d.AdminAddr())
	if code != exitInvalid || !strings.Contains(errs, "set CONNECTORD_ADMIN_TOKEN") {
		t.Errorf("without a token: exit %d, %q", code, errs)
	}
	t.Setenv("CONNECTORD_ADMIN_TOKEN", "wr0ng-t0ken")
	code, _, errs = runStatus("--admin", d.AdminAddr())
	if code != exitInvalid || !strings.Contains(errs, "refused the token") || strings.Contains(errs, "wr0ng-t0ken") {
		t.Errorf("with a wrong token: exit %d, %q", code, errs)
	}
	t.Setenv("CONNECTORD_ADMIN_TOKEN", token)
	code, out, errs := runStatus("--admin", d.AdminAddr())
	if code != exitOK || !strings.Contains(out, "orders") {
		t.Errorf("with the token: exit %d, %q %q", code, out, errs)
	}
}

func TestStatusCommandUnreachable(t *testing.T) {
	// A port that was just free: nothing listens on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, errs := runStatus("--admin", addr)
	if code != exitInvalid || out != "" || !strings.Contains(errs, "cannot reach the daemon's admin API at http://"+addr) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, _ := runStatus("--bogus"); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, exitUsage)
	}
}

// TestStatusLastError: the table shows the error whole (up to a bound),
// without repeating the pipeline's name or the source's role.
func TestStatusLastError(t *testing.T) {
	long := "GET /conversations: 401 Unauthorized: the access token is invalid or was revoked; check INTERCOM_TOKEN or run connectord auth; next poll in 15m0s"
	now := time.Now()
	resp := admin.PipelinesResponse{Now: now, Pipelines: []admin.Pipeline{{
		Name: "intercom-conversations", State: "degraded", Source: "intercom_poller", Started: now.Add(-90 * time.Second),
		LastError: `source: intercom_poller in pipeline "intercom-conversations" (conversations): ` + long,
	}}}
	var b bytes.Buffer
	printStatus(&b, resp)
	row := strings.Split(b.String(), "\n")[1]
	if want := "intercom_poller (conversations): " + long; !strings.HasSuffix(row, want) {
		t.Errorf("row = %q\nwant it to end with %q", row, want)
	}
	if f := strings.Fields(row); f[2] != "1m30s" {
		t.Errorf("UP = %q, want 1m30s", f[2])
	}
}

// With several replicas, status says which one polls each poller and which
// replicas are up.
func TestStatusReplicas(t *testing.T) {
	now := time.Now()
	resp := admin.PipelinesResponse{
		Now: now, Replica: "r1",
		Members: []admin.Member{{Replica: "r1", Since: now.Add(-5 * time.Minute)}, {Replica: "r2", Since: now.Add(-90 * time.Second)}},
		Pipelines: []admin.Pipeline{{
			Name: "convs", State: "running", Source: "intercom_poller",
			Poller: &admin.LeaseHolder{Replica: "r2", Since: now.Add(-time.Minute)},
		}},
	}
	var b bytes.Buffer
	printStatus(&b, resp)
	out := b.String()
	for _, want := range []string{"convs is polled by replica r2 for 1m00s\n", "replica r1 · replicas: r1 (this, 5m00s) · r2 (1m30s)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
