package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
)

// The status API and page name the replica that answers and the live
// replicas sharing its store.
func TestStatusNamesReplicaAndMembers(t *testing.T) {
	ok := newReceiver(t, http.StatusOK)
	td := startDaemon(t, map[string]string{"orders.yaml": generatorPipeline("orders", ok.URL, 1, 10*time.Millisecond, 3)}, "")
	id := td.ReplicaID()
	if id == "" || !strings.Contains(id, "-") {
		t.Fatalf("default replica id %q, want host name + suffix", id)
	}
	code, body := td.get("/api/pipelines")
	var v admin.PipelinesResponse
	if err := json.Unmarshal(body, &v); code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/pipelines: %d %v", code, err)
	}
	if v.Replica != id || len(v.Members) != 1 || v.Members[0].Replica != id || v.Members[0].Since.IsZero() {
		t.Fatalf("replica %q, members %+v; want %s alone", v.Replica, v.Members, id)
	}
	code, page := td.get("/")
	if code != http.StatusOK || !strings.Contains(string(page), "replica "+id) || !strings.Contains(string(page), `id="members"`) {
		t.Fatalf("page (%d) does not name replica %s and its members", code, id)
	}
}
