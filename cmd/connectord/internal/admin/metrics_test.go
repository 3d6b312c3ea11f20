package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/engine/store"
)

// TestMetricsMoveAsEventsFlow scrapes, makes events flow, and scrapes again:
// deliveries, a forced dead letter (a receiver answering 400), a backlog
// held by retries (503), reloads, cursor lag and unmatched webhook requests
// all show in /metrics.
func TestMetricsMoveAsEventsFlow(t *testing.T) {
	ok := newReceiver(t, http.StatusOK)
	td := startDaemon(t, map[string]string{"good.yaml": generatorPipeline("good", ok.URL, 5, 10*time.Millisecond, 3)}, "")

	before, _ := td.scrape()
	if v, present := before.value(`connectord_events_delivered_total{pipeline="bad"}`); present {
		t.Fatalf("pipeline bad has metrics before it exists: %v", v)
	}
	if got := before.must(t, `connectord_build_info{goversion="`+goVersion()+`",version="`+versionLabel()+`"}`); got != 1 {
		t.Fatalf("build_info = %v", got)
	}

	// The engine counts a delivery, then tells the observer: once the
	// histogram has all five, every counter has.
	td.waitMetric(`connectord_delivery_latency_seconds_count{pipeline="good"}`, 5)
	// Acks of delivered events are deferred (they ride in the next commit
	// or a timer's), so the queue gauge reaches 0 a little later.
	s := td.waitMetric(`connectord_queue_events{pipeline="good"}`, 0)
	for series, want := range map[string]float64{
		`connectord_events_in_total{pipeline="good"}`:                       5,
		`connectord_events_stored_total{pipeline="good"}`:                   5,
		`connectord_events_filtered_total{pipeline="good"}`:                 0,
		`connectord_events_dead_lettered_total{pipeline="good"}`:            0,
		`connectord_queue_events{pipeline="good"}`:                          0,
		`connectord_dead_letters{pipeline="good"}`:                          0,
		`connectord_delivery_latency_seconds_count{pipeline="good"}`:        5,
		`connectord_pipeline_state{pipeline="good",state="running"}`:        1,
		`connectord_pipeline_state{pipeline="good",state="failed"}`:         0,
		`connectord_events_failed_total{class="permanent",pipeline="good"}`: 0,
		`connectord_reloads_total{result="ok"}`:                             1,
		`connectord_reloads_total{result="error"}`:                          0,
		`connectord_last_reload_successful`:                                 1,
		`connectord_store_failing`:                                          0,
		`connectord_store_checkpoint_failing`:                               0,
	} {
		if got := s.must(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// A receiver answering 400 dead-letters every event at once; one
	// answering 503 keeps events queued, waiting for a retry an hour away.
	bad := newReceiver(t, http.StatusBadRequest)
	slow := newReceiver(t, http.StatusServiceUnavailable)
	td.writeFile("bad.yaml", generatorPipeline("bad", bad.URL, 3, 10*time.Millisecond, 3))
	td.writeFile("slow.yaml", generatorPipeline("slow", slow.URL, 2, time.Hour, 5))
	if st := td.reload(); !st.OK {
		t.Fatalf("reload: %s", st.Error)
	}
	// A dead letter is counted after it is stored.
	s = td.waitMetric(`connectord_events_dead_lettered_total{pipeline="bad"}`, 3)
	for series, want := range map[string]float64{
		`connectord_dead_letters{pipeline="bad"}`:                          3,
		`connectord_events_failed_total{class="permanent",pipeline="bad"}`: 3,
		`connectord_events_failed_total{class="retry",pipeline="bad"}`:     0,
		`connectord_events_delivered_total{pipeline="bad"}`:                0,
		`connectord_reloads_total{result="ok"}`:                            2,
	} {
		if got := s.must(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	s = td.waitMetric(`connectord_events_failed_total{class="retry",pipeline="slow"}`, 2)
	if got := s.must(t, `connectord_queue_events{pipeline="slow"}`); got != 2 {
		t.Errorf("queue_events{slow} = %v, want 2", got)
	}
	eventually(t, 10*time.Second, "the oldest queued event to age", func() bool {
		s, _ = td.scrape()
		return s.must(t, `connectord_queue_oldest_age_seconds{pipeline="slow"}`) > 0
	})

	// Cursor lag and last poll come from the poller's state keys.
	cursorAt := time.Now().Add(-90 * time.Second).UTC()
	var b store.Batch
	b.Put("good", admin.CursorPrefix+"conversations", mustJSON(t, map[string]any{"time": cursorAt.Format(time.RFC3339), "ids": []string{"1"}}))
	b.Put("good", admin.CursorPrefix+"contacts", mustJSON(t, map[string]any{"updated": cursorAt.Add(-time.Hour).Unix()}))
	b.Put("good", admin.LastPollKey, mustJSON(t, cursorAt.Format(time.RFC3339)))
	if err := td.Store().Commit(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	s, _ = td.scrape()
	if lag := s.must(t, `connectord_cursor_lag_seconds{pipeline="good",resource="conversations"}`); lag < 89 || lag > 150 {
		t.Errorf("cursor lag = %v, want about 90s", lag)
	}
	if lag := s.must(t, `connectord_cursor_lag_seconds{pipeline="good",resource="contacts"}`); lag < 3689 || lag > 3750 {
		t.Errorf("cursor lag (updated) = %v, want about 3690s", lag)
	}
	if ts := s.must(t, `connectord_last_poll_success_timestamp_seconds{pipeline="good"}`); ts != float64(cursorAt.Unix()) {
		t.Errorf("last poll = %v, want %v", ts, cursorAt.Unix())
	}

	// A rejected reload counts as an error and flips the success gauge.
	td.writeFile("broken.yaml", "name: broken\nsource: {nope: {}}\n")
	if st := td.reload(); st.OK {
		t.Fatal("reload of a broken file succeeded")
	}
	s, _ = td.scrape()
	if got := s.must(t, `connectord_reloads_total{result="error"}`); got != 1 {
		t.Errorf("reloads_total{error} = %v, want 1", got)
	}
	if got := s.must(t, `connectord_last_reload_successful`); got != 0 {
		t.Errorf("last_reload_successful = %v, want 0", got)
	}

	// Webhook requests on --listen are counted by path and status; a path
	// no pipeline listens on is "unmatched", whatever it is.
	for range 2 {
		if code, _ := getWith(t, "http://"+td.ListenAddr()+"/random/scanner/probe", nil); code != http.StatusNotFound {
			t.Fatalf("unmatched webhook path answered %d", code)
		}
	}
	s, body := td.scrape()
	if got := s.must(t, `connectord_webhook_requests_total{path="unmatched",status="404"}`); got != 2 {
		t.Errorf("webhook_requests_total{unmatched,404} = %v, want 2", got)
	}
	if bytes.Contains(body, []byte("scanner")) || bytes.Contains(body, []byte(signingKey)) {
		t.Error("/metrics exposes a request path or the signing key")
	}
}

// TestMetricsPassPromlint lints a scrape taken once every metric family has
// samples, and fails on any problem promlint reports.
func TestMetricsPassPromlint(t *testing.T) {
	ok := newReceiver(t, http.StatusOK)
	bad := newReceiver(t, http.StatusBadRequest)
	td := startDaemon(t, map[string]string{
		"good.yaml": generatorPipeline("good", ok.URL, 2, 10*time.Millisecond, 3),
		"bad.yaml":  generatorPipeline("bad", bad.URL, 1, 10*time.Millisecond, 3),
	}, "")
	var b store.Batch
	b.Put("good", admin.CursorPrefix+"conversations", mustJSON(t, map[string]any{"time": time.Now().UTC().Format(time.RFC3339)}))
	b.Put("good", admin.LastPollKey, []byte(time.Now().UTC().Format(time.RFC3339)))
	if err := td.Store().Commit(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	td.waitMetric(`connectord_delivery_latency_seconds_count{pipeline="good"}`, 2)
	td.waitMetric(`connectord_events_dead_lettered_total{pipeline="bad"}`, 1)
	getWith(t, "http://"+td.ListenAddr()+"/nothing", nil)
	td.reload()

	_, body := td.scrape()
	families := map[string]bool{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families[strings.Fields(f)[0]] = true
		}
	}
	for _, name := range []string{
		"connectord_events_in_total", "connectord_events_filtered_total", "connectord_events_stored_total",
		"connectord_events_delivered_total", "connectord_events_failed_total", "connectord_events_dead_lettered_total",
		"connectord_queue_events", "connectord_queue_oldest_age_seconds", "connectord_dead_letters",
		"connectord_cursor_lag_seconds", "connectord_last_poll_success_timestamp_seconds",
		"connectord_webhook_requests_total", "connectord_delivery_latency_seconds", "connectord_reloads_total",
		"connectord_last_reload_successful", "connectord_build_info", "connectord_pipeline_state",
	} {
		if !families[name] {
			t.Errorf("metric family %s is missing from the scrape", name)
		}
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
