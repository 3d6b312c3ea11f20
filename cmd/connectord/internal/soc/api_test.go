package soc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

const (
	userSecret = "user-s3cret"
	orgSecret  = "org-s3cret"
	apiAuth    = "User " + userSecret + ", Organization " + orgSecret
)

// tokenServer is a local Intercom token endpoint. It answers 500 while
// fail is set and checks the form oauth2 sends.
type tokenServer struct {
	*httptest.Server
	fail  atomic.Bool
	calls atomic.Int32
	form  atomic.Value // url.Values of the last call
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.calls.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ts.form.Store(r.PostForm)
		if ts.fail.Load() {
			http.Error(w, `{"type":"error.list","errors":[{"code":"server_error"}]}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// Intercom's answer: both token fields, no expiry, no refresh token.
		io.WriteString(w, `{"token":"tok-for-`+r.PostForm.Get("code")+`","access_token":"tok-for-`+r.PostForm.Get("code")+`","token_type":"Bearer"}`)
	}))
	t.Cleanup(ts.Close)
	return ts
}

type apiFixture struct {
	srv       *httptest.Server
	st        *store.Bolt
	tokens    *tokenServer
	configDir string
	dataDir   string
	reloads   atomic.Int32
}

func newAPIFixture(t *testing.T, user, org config.Secret) *apiFixture {
	t.Helper()
	f := &apiFixture{tokens: newTokenServer(t), configDir: t.TempDir(), dataDir: t.TempDir()}
	st, err := store.Open(filepath.Join(f.dataDir, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	t.Cleanup(func() { st.Close() })
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin") })
	h := NewAPI(Deps{
		APIConfig: APIConfig{UserSecret: user, OrgSecret: org, TokenURL: f.tokens.URL},
		Store:     st, ConfigDir: f.configDir, DataDir: f.dataDir,
		Now:    func() time.Time { return time.Date(2024, 6, 27, 12, 53, 15, 0, time.UTC) },
		Reload: func(context.Context) { f.reloads.Add(1) },
	})
	f.srv = httptest.NewServer(Mount(admin, h))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request the way the seed's curl examples do.
func (f *apiFixture) do(t *testing.T, method, path, auth string, body []byte) (int, map[string]any, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("authorization", auth)
	}
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, raw)
		}
	}
	return resp.StatusCode, m, raw
}

func seed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(importDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAPICreateGetDelete drives both seed examples through the API.
func TestAPICreateGetDelete(t *testing.T) {
	cases := []struct {
		seed, base, code string
		polling          []string
		secrets          []string // values that must never be answered or written
	}{
		{"polling", "api-instance-with-polling", "oiu3gr1g2roi12ruioiu190f9", []string{"api-instance-with-polling-conversations"}, []string{"xxxxxxxxxxxxxxxxxxxxx"}},
		{"webhooks", "api-instance", "xoz8AFqScK2ngM04kSSM", nil, []string{"fak3AP1-s3Cr3t", "xxxxxxxxxxxxxxxxxxxxxxxxx"}},
	}
	for _, tc := range cases {
		t.Run(tc.seed, func(t *testing.T) {
			f := newAPIFixture(t, userSecret, orgSecret)
			ctx := context.Background()
			status, got, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, tc.seed))
			if status != http.StatusOK {
				t.Fatalf("create: %d %s", status, raw)
			}
			form := f.tokens.form.Load().(url.Values)
			var req map[string]any
			json.Unmarshal(seed(t, tc.seed), &req)
			conf := req["configuration"].(map[string]any)
			for k, want := range map[string]string{
				"grant_type": "authorization_code", "code": tc.code, "client_id": conf["oauth.api.key"].(string),
				"client_secret": conf["oauth.api.secret"].(string), "redirect_uri": conf["oauth.callback.url"].(string),
			} {
				if form.Get(k) != want {
					t.Errorf("token request %s = %q, want %q", k, form.Get(k), want)
				}
			}
			checkCreated(t, got, req)
			for _, s := range tc.secrets {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("create answer contains a secret: %s", raw)
				}
			}

			// The file: atomically written, golden, secret-free, loadable.
			file := filepath.Join(f.configDir, tc.base+".yaml")
			yml, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata/api", tc.seed+".yaml"), yml)
			entries, _ := os.ReadDir(f.configDir)
			if len(entries) != 1 {
				t.Errorf("config dir holds %d entries, want the file only", len(entries))
			}
			for _, s := range tc.secrets {
				if bytes.Contains(yml, []byte(s)) {
					t.Errorf("%s contains a secret", file)
				}
			}
			loadWithSecrets(t, f)

			// The token: master copy and one per polling pipeline.
			wantTok := "tok-for-" + tc.code
			for _, p := range append([]string{OAuthPipeline}, tc.polling...) {
				tok, err := intercom.TokenSource(ctx, intercom.StoreGetter(f.st, p), tc.base).Token()
				if err != nil || tok.AccessToken != wantTok || tok.TokenType != "Bearer" {
					t.Errorf("token in %s = %+v, %v; want %s", p, tok, err, wantTok)
				}
			}
			if f.reloads.Load() != 1 {
				t.Errorf("reloads = %d, want 1", f.reloads.Load())
			}

			// GET one, GET all: no instance token, still redacted.
			id := int(got["id"].(float64))
			path := "/elements/api-v2/instances/" + strconv.Itoa(id)
			status, one, raw := f.do(t, "GET", path, apiAuth, nil)
			if status != 200 || one["name"] != req["name"] || one["token"] != nil {
				t.Errorf("GET %s: %d %s", path, status, raw)
			}
			status, _, raw = f.do(t, "GET", "/elements/api-v2/instances", apiAuth, nil)
			var all []map[string]any
			if status != 200 || json.Unmarshal(raw, &all) != nil || len(all) != 1 || all[0]["id"].(float64) != float64(id) {
				t.Errorf("GET list: %d %s", status, raw)
			}
			for _, s := range tc.secrets {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("list contains a secret: %s", raw)
				}
			}

			// Same name again: conflict, nothing exchanged.
			calls := f.tokens.calls.Load()
			if status, _, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, tc.seed)); status != http.StatusConflict || f.tokens.calls.Load() != calls {
				t.Errorf("second create: %d %s", status, raw)
			}

			// DELETE: file, record, tokens and secrets go.
			if status, _, raw := f.do(t, "DELETE", path, apiAuth, nil); status != 200 {
				t.Fatalf("DELETE: %d %s", status, raw)
			}
			if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("file after DELETE: %v", err)
			}
			for _, p := range append([]string{OAuthPipeline}, tc.polling...) {
				if _, err := intercom.TokenSource(ctx, intercom.StoreGetter(f.st, p), tc.base).Token(); !errors.Is(err, intercom.ErrNoToken) {
					t.Errorf("token in %s after DELETE: %v", p, err)
				}
			}
			if status, _, _ := f.do(t, "GET", path, apiAuth, nil); status != http.StatusNotFound {
				t.Errorf("GET after DELETE = %d, want 404", status)
			}
			if m, err := readSecrets(filepath.Join(f.dataDir, SecretsFile)); err != nil || len(m) != 0 {
				t.Errorf("secrets after DELETE: %v %v", len(m), err)
			}
			// The name is free again.
			if status, _, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, tc.seed)); status != 200 {
				t.Errorf("create after DELETE: %d %s", status, raw)
			}
		})
	}
}

// checkCreated checks the create answer's shape against the request.
func checkCreated(t *testing.T, got, req map[string]any) {
	t.Helper()
	if id, ok := got["id"].(float64); !ok || id != 1 {
		t.Errorf("id = %v, want 1", got["id"])
	}
	if tok, _ := got["token"].(string); len(tok) < 32 {
		t.Errorf("token = %q, want an opaque instance token", tok)
	}
	if got["name"] != req["name"] || got["eventsEnabled"] != true || got["createdDate"] != "2024-06-27T12:53:15Z" {
		t.Errorf("name/eventsEnabled/createdDate = %v %v %v", got["name"], got["eventsEnabled"], got["createdDate"])
	}
	if el, _ := got["element"].(map[string]any); el["key"] != "intercom" {
		t.Errorf("element = %v", got["element"])
	}
	if tags, _ := got["tags"].([]any); len(tags) != 1 || tags[0] != "Marketing" {
		t.Errorf("tags = %v", got["tags"])
	}
	conf, _ := got["configuration"].(map[string]any)
	reqConf := req["configuration"].(map[string]any)
	for k, v := range reqConf {
		want := v
		if k == "oauth.api.secret" || k == "event.notification.signature.key" {
			want = "********"
		}
		if gotJSON, wantJSON := jsonString(conf[k]), jsonString(want); gotJSON != wantJSON {
			t.Errorf("configuration[%q] = %s, want %s", k, gotJSON, wantJSON)
		}
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// loadWithSecrets loads the config dir the way the daemon does, with an
// empty environment: every variable must come from the secrets file.
func loadWithSecrets(t *testing.T, f *apiFixture) {
	t.Helper()
	info, err := os.Stat(filepath.Join(f.dataDir, SecretsFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v, want 0600", info.Mode().Perm())
	}
	env := WithSecrets(f.dataDir, func(string) (string, bool) { return "", false })
	buildDir(t, f.configDir, env)
}
