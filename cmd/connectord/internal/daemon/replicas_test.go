package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
	"github.com/connectord/connectord/engine/store/storeurl"
)

// Two replicas on one NATS store announce themselves: each one's status
// API names it and lists both members; a clean stop leaves at once. A
// second replica with a live replica's id is refused.
func TestReplicasAnnounceThemselves(t *testing.T) {
	c, err := natstest.Start(natstest.Config{Dir: t.TempDir(), Servers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	dir, _ := pipelineDir(t, "hooks.yaml", fmt.Sprintf(hookPipeline, "http://127.0.0.1:1/"))
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
	defer r1.Shutdown(context.Background())
	r2, err := start("r2")
	if err != nil {
		t.Fatal(err)
	}
	if v := status(r2); v.Replica != "r2" || members(v) != "r1 r2 " {
		t.Fatalf("r2's status: replica %q, members %q", v.Replica, members(v))
	}
	if _, err := start("r1"); err == nil {
		t.Fatal("a second live replica r1 was let in")
	}
	stopped := time.Now()
	if err := r2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "r2 gone from the members", func() bool { return members(status(r1)) == "r1 " })
	if d := time.Since(stopped); d > time.Second {
		t.Fatalf("r2 left the members after %v, want < 1s", d)
	}
	if v := status(r1); v.Replica != "r1" {
		t.Fatalf("r1's status names %q", v.Replica)
	}
}
