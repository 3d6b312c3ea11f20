package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/engine/store"
)

func (td *testDaemon) pipelines() admin.PipelinesResponse {
	td.t.Helper()
	code, body := td.get("/api/pipelines")
	if code != http.StatusOK {
		td.t.Fatalf("/api/pipelines: %d %s", code, body)
	}
	var resp admin.PipelinesResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		td.t.Fatalf("/api/pipelines: %v\n%s", err, body)
	}
	return resp
}

func find(t *testing.T, resp admin.PipelinesResponse, name string) admin.Pipeline {
	t.Helper()
	for _, p := range resp.Pipelines {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("pipeline %s is not listed", name)
	return admin.Pipeline{}
}

// TestPipelinesAPI checks what the status API says about a healthy
// pipeline, one whose receiver rejects everything, a rejected reload, and a
// pipeline removed from the config while its dead letters remain.
func TestPipelinesAPI(t *testing.T) {
	ok := newReceiver(t, http.StatusOK)
	bad := newReceiver(t, http.StatusBadRequest)
	td := startDaemon(t, map[string]string{
		"good.yaml": generatorPipeline("good", ok.URL, 4, 10*time.Millisecond, 3),
		"bad.yaml":  generatorPipeline("bad", bad.URL, 2, 10*time.Millisecond, 3),
	}, "")
	td.waitMetric(`connectord_events_delivered_total{pipeline="good"}`, 4)
	td.waitMetric(`connectord_events_dead_lettered_total{pipeline="bad"}`, 2)
	cursorAt := time.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
	var b store.Batch
	b.Put("good", admin.CursorPrefix+"conversations", mustJSON(t, map[string]any{"time": cursorAt.Format(time.RFC3339)}))
	if err := td.Store().Commit(context.Background(), &b); err != nil {
		t.Fatal(err)
	}

	resp := td.pipelines()
	if !resp.Reload.OK || len(resp.Reload.Result.Started) != 2 {
		t.Errorf("reload = %+v", resp.Reload)
	}
	good := find(t, resp, "good")
	if good.State != admin.StateRunning || good.Generation == 0 || len(good.Hash) < 16 ||
		filepath.Base(good.File) != "good.yaml" || good.Source != "generator" || good.Sink != "http" {
		t.Errorf("good = %+v", good)
	}
	if good.Reload.Result != "ok" || good.Reload.Action != "started" {
		t.Errorf("good.reload = %+v", good.Reload)
	}
	if good.Totals.Delivered != 4 || good.Rates.DeliveredPerMinute <= 0 || good.Queued != 0 || good.DeadLetters != 0 {
		t.Errorf("good counts = %+v %+v queued %d dead %d", good.Totals, good.Rates, good.Queued, good.DeadLetters)
	}
	if len(good.Cursors) != 1 || good.Cursors[0].Resource != "conversations" || !good.Cursors[0].Time.Equal(cursorAt) ||
		good.LagSeconds == nil || *good.LagSeconds < 119 {
		t.Errorf("good cursor = %+v lag %v", good.Cursors, good.LagSeconds)
	}
	badP := find(t, resp, "bad")
	if badP.DeadLetters != 2 || badP.Rates.FailedPerMinute <= 0 || !strings.Contains(badP.LastError, "400") || badP.LastErrorAt.IsZero() {
		t.Errorf("bad = %+v", badP)
	}
	if badP.LagSeconds != nil {
		t.Errorf("bad has a lag without a cursor: %v", *badP.LagSeconds)
	}

	// One pipeline by name, and an unknown one.
	code, body := td.get("/api/pipelines/bad")
	var one admin.Pipeline
	if code != http.StatusOK || json.Unmarshal(body, &one) != nil || one.Name != "bad" || one.DeadLetters != 2 {
		t.Errorf("/api/pipelines/bad: %d %s", code, body)
	}
	if code, _ := td.get("/api/pipelines/nope"); code != http.StatusNotFound {
		t.Errorf("/api/pipelines/nope: %d, want 404", code)
	}

	// A rejected reload: each pipeline reports it, with the errors of its
	// own file when there are any.
	td.writeFile("bad.yaml", "name: bad\nsource: {generator: {}}\n")
	if st := td.reload(); st.OK {
		t.Fatal("a reload with a broken file was accepted")
	}
	resp = td.pipelines()
	badP, good = find(t, resp, "bad"), find(t, resp, "good")
	if resp.Reload.OK || badP.Reload.Result != "error" || !strings.Contains(badP.Reload.Error, "bad.yaml:") {
		t.Errorf("after a rejected reload: bad.reload = %+v", badP.Reload)
	}
	if good.Reload.Result != "error" || strings.Contains(good.Reload.Error, "bad.yaml") || good.Reload.Error == "" {
		t.Errorf("after a rejected reload: good.reload = %+v", good.Reload)
	}
	if badP.State != admin.StateRunning || badP.Generation != find(t, td.pipelines(), "bad").Generation {
		t.Errorf("a rejected reload changed bad: %+v", badP)
	}

	// Removing the file stops the pipeline; its dead letters stay on disk,
	// so it is listed as removed.
	td.removeFile("bad.yaml")
	if st := td.reload(); !st.OK {
		t.Fatalf("reload: %s", st.Error)
	}
	resp = td.pipelines()
	badP, good = find(t, resp, "bad"), find(t, resp, "good")
	if badP.State != admin.StateRemoved || badP.DeadLetters != 2 || badP.Totals.DeadLettered != 2 {
		t.Errorf("removed pipeline = %+v", badP)
	}
	if good.Reload.Result != "ok" || good.Reload.Action != "unchanged" {
		t.Errorf("good.reload after removing bad = %+v", good.Reload)
	}
	s, _ := td.scrape()
	if got := s.must(t, `connectord_pipeline_state{pipeline="bad",state="removed"}`); got != 1 {
		t.Errorf("pipeline_state{bad,removed} = %v", got)
	}
}
