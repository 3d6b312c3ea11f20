package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

func readyReason(t *testing.T, body []byte) string {
	t.Helper()
	var v struct{ Status, Reason string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	return v.Reason
}

// TestReadinessFlipsWhenStoreCloses: a started daemon is ready; once its
// store is closed /readyz answers 503 with the reason, while /healthz still
// says the process is alive.
func TestReadinessFlipsWhenStoreCloses(t *testing.T) {
	ok := newReceiver(t, http.StatusOK)
	td := startDaemon(t, map[string]string{"p.yaml": generatorPipeline("p", ok.URL, 1, 10*time.Millisecond, 3)}, "")
	if code, body := td.get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz of a started daemon: %d %s", code, body)
	}
	if err := td.Store().Close(); err != nil {
		t.Fatal(err)
	}
	code, body := td.get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(readyReason(t, body), "store") {
		t.Fatalf("/readyz after the store closed: %d %s", code, body)
	}
	if code, _ := td.get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz after the store closed: %d", code)
	}
	// The status API says why it cannot answer instead of showing nothing.
	if code, body := td.get("/api/pipelines"); code != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("closed")) {
		t.Fatalf("/api/pipelines after the store closed: %d %s", code, body)
	}
}

// TestReadinessFollowsLifecycle: before Started the handler is not ready
// (pipelines are not running yet), after it is, and after Close (shutdown)
// it is not again.
func TestReadinessFollowsLifecycle(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rt := runner.NewRuntime(runner.Options{Store: st})
	h := admin.New(admin.Deps{Runtime: rt, Store: st, SampleInterval: 10 * time.Millisecond})
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	code, body := getWith(t, srv.URL+"/readyz", nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(readyReason(t, body), "starting") {
		t.Fatalf("/readyz before Started: %d %s", code, body)
	}
	h.Started()
	if code, body := getWith(t, srv.URL+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("/readyz after Started: %d %s", code, body)
	}
	h.Close()
	code, body = getWith(t, srv.URL+"/readyz", nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(readyReason(t, body), "shutting down") {
		t.Fatalf("/readyz after Close: %d %s", code, body)
	}
	if code, _ := getWith(t, srv.URL+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz after Close: %d", code)
	}
	rt.Shutdown(context.Background())
}

// TestAdminToken: with a token, every admin endpoint but /healthz refuses a
// request without it or with a wrong one, and accepts it as a bearer token
// or as a Basic password; no response shows the token.
func TestAdminToken(t *testing.T) {
	const token = "admin-token-5ec2e7"
	ok := newReceiver(t, http.StatusOK)
	td := startDaemon(t, map[string]string{"p.yaml": generatorPipeline("p", ok.URL, 1, 10*time.Millisecond, 3)}, token)
	base := "http://" + td.AdminAddr()
	for _, path := range []string{"/", "/metrics", "/readyz", "/api/pipelines", "/api/pipelines/p", "/api/reload"} {
		for name, prepare := range map[string]func(*http.Request){
			"no token":     nil,
			"wrong bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token+"x") },
			"wrong basic":  func(r *http.Request) { r.SetBasicAuth("admin", "nope") },
			"bare token":   func(r *http.Request) { r.Header.Set("Authorization", token) },
		} {
			code, body := getWith(t, base+path, prepare)
			if code != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401", path, name, code)
			}
			if bytes.Contains(body, []byte(token)) {
				t.Errorf("%s with %s: the response shows the token", path, name)
			}
		}
		for name, prepare := range map[string]func(*http.Request){
			"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) },
			"basic":  func(r *http.Request) { r.SetBasicAuth("anyone", token) },
		} {
			code, body := getWith(t, base+path, prepare)
			if code != http.StatusOK {
				t.Errorf("%s with %s: %d %s", path, name, code, body)
			}
			if bytes.Contains(body, []byte(token)) || bytes.Contains(body, []byte(signingKey)) {
				t.Errorf("%s with %s: the response shows a secret", path, name)
			}
		}
	}
	if code, _ := getWith(t, base+"/healthz", nil); code != http.StatusOK {
		t.Errorf("/healthz without a token: %d, want 200", code)
	}
}
