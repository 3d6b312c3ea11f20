package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine/config"
)

// TestEveryAdminRouteNeedsTheToken runs a real daemon with
// CONNECTORD_ADMIN_TOKEN and the SAP Open Connectors secrets set and tries
// every admin route: without the token each is 401 (the /instances API
// too, even with its User/Organization header), with it each is served;
// the /instances API needs both. Only /healthz is open.
func TestEveryAdminRouteNeedsTheToken(t *testing.T) {
	const token, user, org = "tok-3b9e", "user-secret-1", "org-secret-2"
	recv := newSwitchReceiver(t)
	dir, _ := pipelineDir(t, "inbox.yaml", fmt.Sprintf(inboxPipeline, 100, recv.URL))
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir: dir, DataDir: filepath.Join(dir, "..", "data"), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		AdminToken: config.Secret(token),
		Instances:  soc.APIConfig{UserSecret: config.Secret(user), OrgSecret: config.Secret(org)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	base := "http://" + d.AdminAddr()
	oc := "User " + user + ", Organization " + org

	routes := []struct {
		method, path, body string
		instances          bool // the SAP OC API: also needs User/Organization
	}{
		{"GET", "/", "", false},
		{"GET", "/metrics", "", false},
		{"GET", "/readyz", "", false},
		{"GET", "/api/pipelines", "", false},
		{"GET", "/api/pipelines/inbox", "", false},
		{"GET", "/api/reload", "", false},
		{"POST", "/api/pipelines/inbox/resume", "", false},
		{"GET", "/api/pipelines/inbox/deadletters", "", false},
		{"GET", "/api/pipelines/inbox/deadletters/1", "", false},
		{"POST", "/api/pipelines/inbox/deadletters/replay", `{"all": true}`, false},
		{"POST", "/api/pipelines/inbox/deadletters/purge", `{"all": true}`, false},
		{"POST", "/api/pipelines/inbox/queue/purge", "", false},
		{"GET", "/debug/pprof/", "", false},
		{"GET", "/console", "", false},
		{"GET", "/console/new", "", false},
		{"GET", "/console/instances/1", "", false},
		{"GET", "/elements/api-v2/instances", "", true},
		{"POST", "/elements/api-v2/instances", `{}`, true},
		{"GET", "/elements/api-v2/instances/1", "", true},
		{"PATCH", "/elements/api-v2/instances/1", `{}`, true},
		{"PUT", "/elements/api-v2/instances/1", `{}`, true},
		{"DELETE", "/elements/api-v2/instances/1", "", true},
	}
	do := func(method, path, body string, headers map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, s := range []string{token, user, org} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s %s: the response shows a secret", method, path)
			}
		}
		return resp.StatusCode
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			refused := map[string]map[string]string{
				"nothing":      nil,
				"wrong bearer": {"Authorization": "Bearer " + token + "x"},
				"wrong header": {"X-Connectord-Token": "nope"},
				"SAP OC only":  {"Authorization": oc},
			}
			for name, h := range refused {
				if code := do(r.method, r.path, r.body, h); code != http.StatusUnauthorized {
					t.Errorf("with %s: %d, want 401", name, code)
				}
			}
			var ok []map[string]string
			if r.instances {
				// The token alone is not enough for the SAP OC API.
				if code := do(r.method, r.path, r.body, map[string]string{"Authorization": "Bearer " + token}); code != http.StatusUnauthorized {
					t.Errorf("with the token but no User/Organization: %d, want 401", code)
				}
				ok = []map[string]string{
					{"Authorization": oc, "X-Connectord-Token": token},
					{"Authorization": oc + ", Bearer " + token},
				}
			} else {
				ok = []map[string]string{{"Authorization": "Bearer " + token}, {"X-Connectord-Token": token}}
			}
			for _, h := range ok {
				if code := do(r.method, r.path, r.body, h); code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("with %v: %d, want it served", h, code)
				}
			}
		})
	}
	if code := do("GET", "/healthz", "", nil); code != http.StatusOK {
		t.Errorf("/healthz without a token: %d, want 200", code)
	}
}
