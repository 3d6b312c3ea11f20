package soc

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAPISameFileAsImport sends each seed body through POST /instances and
// through Convert as `connectord import` calls it: the pipeline files are
// the same, byte for byte (testdata/import/{polling,webhooks}.json are the
// two curl bodies of the seed).
func TestAPISameFileAsImport(t *testing.T) {
	for _, tc := range []struct{ seed, file string }{
		{"polling", "api-instance-with-polling.yaml"},
		{"webhooks", "api-instance.yaml"},
	} {
		t.Run(tc.seed, func(t *testing.T) {
			f := newAPIFixture(t, userSecret, orgSecret)
			if status, _, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, tc.seed)); status != http.StatusOK {
				t.Fatalf("create: %d %s", status, raw)
			}
			viaAPI, err := os.ReadFile(filepath.Join(f.configDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseRequest(seed(t, tc.seed))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Convert(req, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if plan.File != tc.file {
				t.Errorf("import writes %s, the API %s", plan.File, tc.file)
			}
			if !bytes.Equal(viaAPI, plan.YAML) {
				t.Errorf("the API and import write different files:\n--- API\n%s\n--- import\n%s", viaAPI, plan.YAML)
			}
		})
	}
}

// updateFixture is an API fixture holding the seed's polling instance,
// which has no callback URL, so its sink holds the events.
type updateFixture struct {
	*apiFixture
	path string // /elements/api-v2/instances/{id}
	file string // its pipelines file
}

func newUpdateFixture(t *testing.T) *updateFixture {
	t.Helper()
	f := newAPIFixture(t, userSecret, orgSecret)
	status, got, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, "polling"))
	if status != http.StatusOK {
		t.Fatalf("create: %d %s", status, raw)
	}
	u := &updateFixture{
		apiFixture: f,
		path:       "/elements/api-v2/instances/" + strconv.Itoa(int(got["id"].(float64))),
		file:       filepath.Join(f.configDir, "api-instance-with-polling.yaml"),
	}
	if yml := u.read(t); !strings.Contains(yml, "hold: ") || strings.Contains(yml, "url: https://") {
		t.Fatalf("the polling seed's file does not hold its events:\n%s", yml)
	}
	return u
}

func (u *updateFixture) read(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(u.file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// send PATCHes or PUTs body and wants status.
func (u *updateFixture) send(t *testing.T, method, body string, status int) map[string]any {
	t.Helper()
	got, m, raw := u.do(t, method, u.path, apiAuth, []byte(body))
	if got != status {
		t.Fatalf("%s %s: %d %s, want %d", method, body, got, raw, status)
	}
	return m
}

func (u *updateFixture) secrets(t *testing.T) map[string]string {
	t.Helper()
	m, err := readSecrets(filepath.Join(u.dataDir, SecretsFile))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const sigVar = "API_INSTANCE_WITH_POLLING_SIGNATURE_KEY"

func TestAPIPatch(t *testing.T) {
	u := newUpdateFixture(t)
	reloads := u.reloads.Load()

	// A callback URL and a signature key: the held pipeline now delivers.
	got := u.send(t, http.MethodPatch, `{"configuration": {
		"event.notification.callback.url": "https://receiver.example/events",
		"event.notification.signature.key": "sig-1"}}`, http.StatusOK)
	yml := u.read(t)
	if strings.Contains(yml, "hold:") || !strings.Contains(yml, "url: https://receiver.example/events") ||
		!strings.Contains(yml, "key: ${"+sigVar+"}") {
		t.Errorf("after PATCH the file still holds, or lacks url or signature:\n%s", yml)
	}
	if strings.Contains(yml, "sig-1") {
		t.Error("the file contains the signature key")
	}
	if s := u.secrets(t); s[sigVar] != "sig-1" {
		t.Errorf("secrets = %v, want %s = sig-1", s, sigVar)
	}
	conf, _ := got["configuration"].(map[string]any)
	if conf["event.notification.callback.url"] != "https://receiver.example/events" || conf["event.notification.signature.key"] != "********" {
		t.Errorf("PATCH answer configuration = %v", conf)
	}
	// Keys the PATCH did not name are kept.
	if conf["event.poller.refresh_interval"] != "15" || conf["event.vendor.type"] != "polling" {
		t.Errorf("PATCH lost keys it did not name: %v", conf)
	}
	if u.reloads.Load() != reloads+1 {
		t.Errorf("reloads = %d, want %d", u.reloads.Load(), reloads+1)
	}
	loadWithSecrets(t, u.apiFixture)

	// The secret sent back as the API shows it keeps its value; another
	// key changes alongside.
	u.send(t, http.MethodPatch, `{"configuration": {
		"event.notification.signature.key": "********",
		"event.poller.refresh_interval": "5"}}`, http.StatusOK)
	if s := u.secrets(t); s[sigVar] != "sig-1" {
		t.Errorf("a redacted secret sent back changed it: %v", s)
	}
	if yml := u.read(t); !strings.Contains(yml, `refresh_interval: "5"`) && !strings.Contains(yml, "refresh_interval: 5") {
		t.Errorf("refresh_interval not changed:\n%s", yml)
	}
	loadWithSecrets(t, u.apiFixture)

	// null removes a key: the signature goes from the file and the
	// secrets, the callback URL goes and the sink holds again.
	got = u.send(t, http.MethodPatch, `{"configuration": {
		"event.notification.signature.key": null,
		"event.notification.callback.url": null}}`, http.StatusOK)
	yml = u.read(t)
	if strings.Contains(yml, "signature:") || strings.Contains(yml, "url: https://receiver.example") || !strings.Contains(yml, "hold: ") {
		t.Errorf("after PATCH with nulls:\n%s", yml)
	}
	if _, ok := u.secrets(t)[sigVar]; ok {
		t.Errorf("the signature key is still in the secrets file")
	}
	conf, _ = got["configuration"].(map[string]any)
	if _, ok := conf["event.notification.signature.key"]; ok {
		t.Errorf("configuration still has the signature key: %v", conf)
	}
	if _, ok := conf["event.notification.callback.url"]; ok {
		t.Errorf("configuration still has the callback URL: %v", conf)
	}

	// The name cannot change; the file stays as it was.
	before := u.read(t)
	bad := u.send(t, http.MethodPatch, `{"name": "Another Name"}`, http.StatusBadRequest)
	if bad["key"] != "name" {
		t.Errorf("rename refused with key %v, want name", bad["key"])
	}
	// The same name (any spelling that is the instance's) is fine.
	u.send(t, http.MethodPatch, `{"name": "API Instance with Polling"}`, http.StatusOK)
	if u.read(t) != before {
		t.Errorf("refused or empty PATCHes changed the file")
	}
}

func TestAPIPut(t *testing.T) {
	u := newUpdateFixture(t)
	// PUT replaces the configuration: keys it leaves out are gone
	// (filter.response.nulls, the oauth keys), the poller configuration is
	// the new one.
	got := u.send(t, http.MethodPut, `{
		"name": "API Instance with Polling",
		"tags": ["Support"],
		"configuration": {
			"event.notification.enabled": true,
			"event.vendor.type": "polling",
			"event.notification.callback.url": "https://receiver.example/put",
			"event.poller.refresh_interval": "30",
			"event.poller.configuration": {"contacts": {"url": "/hubs/crm/contacts", "idField": "id"}}
		}}`, http.StatusOK)
	yml := u.read(t)
	for _, want := range []string{"name: api-instance-with-polling-contacts", "url: /contacts/search", "mode: search", "url: https://receiver.example/put", "tags: Support"} {
		if !strings.Contains(yml, want) {
			t.Errorf("after PUT the file lacks %q:\n%s", want, yml)
		}
	}
	for _, gone := range []string{"resource: conversations", "hold:"} {
		if strings.Contains(yml, gone) {
			t.Errorf("after PUT the file still has %q:\n%s", gone, yml)
		}
	}
	conf, _ := got["configuration"].(map[string]any)
	for _, gone := range []string{"filter.response.nulls", "oauth.api.key", "oauth.api.secret"} {
		if _, ok := conf[gone]; ok {
			t.Errorf("PUT kept %s: %v", gone, conf)
		}
	}
	if pipes, _ := json.Marshal(got["pipelines"]); got["pipelines"] != nil && !bytes.Contains(pipes, []byte("api-instance-with-polling-contacts")) {
		t.Errorf("answer pipelines = %s", pipes)
	}
	loadWithSecrets(t, u.apiFixture)

	// A PUT that renames is refused like a PATCH.
	if bad := u.send(t, http.MethodPut, `{"name": "Renamed", "configuration": {}}`, http.StatusBadRequest); bad["key"] != "name" {
		t.Errorf("PUT rename refused with key %v, want name", bad["key"])
	}
}

func TestAPIUpdateErrors(t *testing.T) {
	u := newUpdateFixture(t)
	before := u.read(t)
	for _, method := range []string{http.MethodPatch, http.MethodPut} {
		for _, tc := range []struct {
			name, path, body, key string
			status                int
		}{
			{"unknown id", "/elements/api-v2/instances/999", `{}`, "id", http.StatusNotFound},
			{"bad id", "/elements/api-v2/instances/abc", `{}`, "id", http.StatusBadRequest},
			{"malformed JSON", u.path, `{"configuration": `, "body", http.StatusBadRequest},
			{"not an object", u.path, `[1]`, "body", http.StatusBadRequest},
			{"configuration not an object", u.path, `{"configuration": "x"}`, "configuration", http.StatusBadRequest},
			{"tags not a list", u.path, `{"configuration": {"event.vendor.type": "polling"}, "tags": "Support"}`, "tags", http.StatusBadRequest},
		} {
			t.Run(method+" "+tc.name, func(t *testing.T) {
				status, m, raw := u.do(t, method, tc.path, apiAuth, []byte(tc.body))
				if status != tc.status || m["key"] != tc.key {
					t.Errorf("%d %s, want %d with key %q", status, raw, tc.status, tc.key)
				}
			})
		}
	}
	// A value the pipeline cannot take names its field.
	status, m, raw := u.do(t, http.MethodPatch, u.path, apiAuth, []byte(`{"configuration": {"event.notification.callback.url": "ftp://receiver.example"}}`))
	if status != http.StatusBadRequest || m["key"] != "configuration.event.notification.callback.url" {
		t.Errorf("bad callback URL: %d %s", status, raw)
	}
	status, m, raw = u.do(t, http.MethodPatch, u.path, apiAuth, []byte(`{"configuration": {"event.poller.refresh_interval": "often"}}`))
	if status != http.StatusBadRequest || !strings.HasPrefix(m["key"].(string), "configuration.event.poller.refresh_interval") {
		t.Errorf("bad refresh interval: %d %s", status, raw)
	}
	// Unauthorised updates are refused before anything else.
	if status, _, _ := u.do(t, http.MethodPatch, u.path, "User x, Organization y", []byte(`{}`)); status != http.StatusUnauthorized {
		t.Errorf("unauthorised PATCH: %d", status)
	}
	if u.read(t) != before {
		t.Errorf("refused updates changed the file:\n%s", u.read(t))
	}
}
