package admin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/engine/runner"
)

// TestInstrumentWebhooks counts requests on the webhook router by mounted
// path and status; other paths are "unmatched".
func TestInstrumentWebhooks(t *testing.T) {
	m := admin.NewMetrics()
	router := runner.NewRouter()
	router.Set("/webhooks/intercom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hub-Signature") == "" {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("stored"))
	}))
	srv := httptest.NewServer(m.InstrumentWebhooks(router))
	t.Cleanup(srv.Close)

	send := func(path string, signed bool) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("{}"))
		if signed {
			req.Header.Set("X-Hub-Signature", "sha1=x")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send("/webhooks/intercom", true)
	send("/webhooks/intercom", true)
	send("/webhooks/intercom", false)
	send("/wp-login.php", true)

	metrics := httptest.NewServer(m.Handler())
	t.Cleanup(metrics.Close)
	_, body := getWith(t, metrics.URL, nil)
	got := parseExposition(t, body)
	for series, want := range map[string]float64{
		`connectord_webhook_requests_total{path="/webhooks/intercom",status="200"}`: 2,
		`connectord_webhook_requests_total{path="/webhooks/intercom",status="401"}`: 1,
		`connectord_webhook_requests_total{path="unmatched",status="404"}`:          1,
	} {
		if v := got.must(t, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
	if strings.Contains(string(body), "wp-login") {
		t.Error("an unmatched path became a label")
	}
}
