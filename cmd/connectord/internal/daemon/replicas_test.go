package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
	"github.com/connectord/connectord/engine/store/storeurl"
)

// Two replicas on one NATS store announce themselves: each one's status
// API names it and lists both members; only the first polls, and the
// status says so; a clean stop leaves the members and hands the poll lease
// over at once. A second replica with a live replica's id is refused.
func TestReplicasAnnounceThemselves(t *testing.T) {
	c, err := natstest.Start(natstest.Config{Dir: t.TempDir(), Servers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	sim := intercomsim.New(intercomsim.Options{Token: "tok"})
	api := httptest.NewServer(sim)
	defer api.Close()
	// Sink timeouts that fit in the 1s partition leases.
	short := func(p string) string {
		return strings.Replace(p, "signature: {key: k}", "signature: {key: k}, timeout: 300ms", 1)
	}
	dir, _ := pipelineDir(t, "hooks.yaml", fmt.Sprintf(short(hookPipeline), "http://127.0.0.1:1/"))
	if err := os.WriteFile(filepath.Join(dir, "convs.yaml"), fmt.Appendf(nil, short(pollPipeline), api.URL, "1s", "http://127.0.0.1:1/"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := storeurl.Spec{URL: c.URLs() + "?replicas=1&stream=REPLICAS"}
	start := func(id string) (*daemon.Daemon, error) {
		return daemon.Start(context.Background(), daemon.Config{
			ConfigDir: dir, DataDir: filepath.Join(t.TempDir(), "data"), Store: spec,
			Admin: "127.0.0.1:0", ReplicaID: id, LeaseTTL: time.Second,
		})
	}
	status := func(d *daemon.Daemon) admin.PipelinesResponse {
		resp, err := http.Get("http://" + d.AdminAddr() + "/api/pipelines")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v admin.PipelinesResponse
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	poller := func(v admin.PipelinesResponse) string {
		for _, p := range v.Pipelines {
			if p.Name == "convs" && p.Poller != nil {
				return p.Poller.Replica
			}
		}
		return ""
	}
	members := func(v admin.PipelinesResponse) string {
		s := ""
		for _, m := range v.Members {
			s += m.Replica + " "
		}
		return s
	}
	r1, err := start("r1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "r1 polling", func() bool { return poller(status(r1)) == "r1" })
	r2, err := start("r2")
	if err != nil {
		t.Fatal(err)
	}
	// A status is a snapshot of the leases: with 1s leases on a loaded
	// machine, a renew late by more than 2/3 of the TTL shows its lease
	// as run out for a moment (1 read in 60 under load showed no poller).
	eventually(t, "r2's status naming r2, both members and r1 polling", func() bool {
		v := status(r2)
		return v.Replica == "r2" && members(v) == "r1 r2 " && poller(v) == "r1"
	})
	// The webhook pipeline's 16 delivery partitions are split between
	// the two, and each one's status says which it delivers.
	parts := func(v admin.PipelinesResponse) int {
		for _, p := range v.Pipelines {
			if p.Name == "hooks" && p.Partitions != nil {
				return len(p.Partitions.Owned)
			}
		}
		return -1
	}
	eventually(t, "partitions split 8/8", func() bool { return parts(status(r1)) == 8 && parts(status(r2)) == 8 })
	if _, err := start("r1"); err == nil {
		t.Fatal("a second live replica r1 was let in")
	}
	stopped := time.Now()
	if err := r1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "r1 gone, r2 polling", func() bool { v := status(r2); return members(v) == "r2 " && poller(v) == "r2" })
	d := time.Since(stopped)
	t.Logf("hand-over after r1's clean stop: %v", d)
	if d > time.Second {
		t.Fatalf("hand-over after r1's clean stop took %v, want < 1s", d)
	}
	if err := r2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
