package soc

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/connectord/connectord/sources/intercom"
)

func TestAPIAuthorization(t *testing.T) {
	f := newAPIFixture(t, userSecret, orgSecret)
	for _, auth := range []string{
		"",
		"User " + userSecret,
		"User wrong, Organization " + orgSecret,
		"User " + userSecret + ", Organization wrong",
		"User " + orgSecret + ", Organization " + userSecret,
		"Bearer " + userSecret,
	} {
		status, body, raw := f.do(t, "POST", "/elements/api-v2/instances", auth, seed(t, "webhooks"))
		if status != http.StatusUnauthorized || body["message"] == nil {
			t.Errorf("authorization %q: %d %s, want 401 JSON", auth, status, raw)
		}
		if bytes.Contains(raw, []byte(userSecret)) || bytes.Contains(raw, []byte(orgSecret)) {
			t.Errorf("401 answer echoes a secret: %s", raw)
		}
	}
	// Order and spacing are free, as in Open Connectors.
	if status, _, raw := f.do(t, "GET", "/elements/api-v2/instances", "Organization "+orgSecret+",User "+userSecret, nil); status != 200 {
		t.Errorf("reordered authorization: %d %s", status, raw)
	}
	if f.tokens.calls.Load() != 0 {
		t.Errorf("token server called %d times for unauthorised requests", f.tokens.calls.Load())
	}
	// Other admin routes still reach the admin handler.
	if status, _, raw := f.do(t, "GET", "/healthz", "", nil); status != 200 || string(raw) != "admin" {
		t.Errorf("admin route: %d %s", status, raw)
	}
}

func TestAPIDisabledWithoutSecrets(t *testing.T) {
	f := newAPIFixture(t, "", orgSecret)
	status, body, raw := f.do(t, "POST", "/elements/api-v2/instances", "User , Organization "+orgSecret, seed(t, "webhooks"))
	if status != http.StatusForbidden || !strings.Contains(body["message"].(string), EnvUserSecret) {
		t.Errorf("disabled API: %d %s, want 403 naming %s", status, raw, EnvUserSecret)
	}
}

func TestAPIBadRequests(t *testing.T) {
	webhooks := string(seed(t, "webhooks"))
	cases := []struct {
		name, body, key string
		status          int
	}{
		{"malformed JSON", `{"element": {"key": "intercom"},`, "body", 400},
		{"not an object", `[1, 2]`, "body", 400},
		{"missing code", strings.Replace(webhooks, `"code": "xoz8AFqScK2ngM04kSSM"`, `"code": ""`, 1), "providerData.code", 400},
		{"no providerData", strings.Replace(webhooks, `"providerData"`, `"providerDataX"`, 1), "providerData.code", 400},
		{"missing element.key", strings.Replace(webhooks, `"key": "intercom"`, `"id": 12`, 1), "element.key", 400},
		{"other element", strings.Replace(webhooks, `"key": "intercom"`, `"key": "hubspot"`, 1), "element.key", 400},
		{"unknown vendor type", strings.Replace(webhooks, `"event.vendor.type": "webhooks"`, `"event.vendor.type": "streaming"`, 1), "configuration.event.vendor.type", 400},
		{"enabled not boolean", strings.Replace(webhooks, `"event.notification.enabled": true`, `"event.notification.enabled": "yes please"`, 1), "configuration.event.notification.enabled", 400},
		{"missing client id", strings.Replace(webhooks, `"oauth.api.key": "Rand0MAP1-key"`, `"oauth.api.key": null`, 1), "configuration.oauth.api.key", 400},
		{"bad callback", strings.Replace(webhooks, `"https://mycoolapp.com/events"`, `"ftp://x"`, 1), "configuration.event.notification.callback.url", 400},
		{"poller without url", strings.Replace(string(seed(t, "polling")), `"url": "/hubs/marketing/conversations?orderBy=updated_at desc",`, ``, 1), "configuration.event.poller.configuration.conversations.url", 400},
		{"poller string not JSON", strings.Replace(string(seed(t, "template")), `"event.poller.configuration": "{`, `"event.poller.configuration": "{{`, 1), "configuration.event.poller.configuration", 400},
		{"tags not strings", strings.Replace(webhooks, `"Marketing"`, `{"a": 1}`, 1), "tags", 400},
	}
	f := newAPIFixture(t, userSecret, orgSecret)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, []byte(tc.body))
			if status != tc.status || body["key"] != tc.key || !strings.Contains(body["message"].(string), tc.key) {
				t.Errorf("%d %s, want %d naming %s", status, raw, tc.status, tc.key)
			}
		})
	}
	if f.tokens.calls.Load() != 0 {
		t.Errorf("token server called for bad requests")
	}
	assertNothingCreated(t, f)
}

func TestAPITokenServerFailure(t *testing.T) {
	f := newAPIFixture(t, userSecret, orgSecret)
	f.tokens.fail.Store(true)
	status, body, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, "webhooks"))
	if status != http.StatusBadGateway || !strings.Contains(body["message"].(string), "HTTP 500") {
		t.Errorf("token server 500: %d %s, want 502 naming the status", status, raw)
	}
	for _, s := range []string{"fak3AP1-s3Cr3t", "xoz8AFqScK2ngM04kSSM"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("502 answer contains %q", s)
		}
	}
	assertNothingCreated(t, f)

	// A token server that cannot be reached is a 502 as well.
	f.tokens.Close()
	if status, _, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, "webhooks")); status != http.StatusBadGateway {
		t.Errorf("token server down: %d %s, want 502", status, raw)
	}
	assertNothingCreated(t, f)
}

func TestAPIReportsUnsupportedKeys(t *testing.T) {
	f := newAPIFixture(t, userSecret, orgSecret)
	status, body, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, seed(t, "template"))
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	warnings := jsonString(body["warnings"])
	for _, key := range []string{"oauth.user.refresher_time", "event.notification.instance.finder", `\"description\"`, "CEQL where"} {
		if !strings.Contains(warnings, key) {
			t.Errorf("warnings %s do not report %s", warnings, key)
		}
	}
	if c := body["configuration"].(map[string]any); c["event.notification.signature.key"] != "********" || c["oauth.user.refresher_token"] != nil {
		t.Errorf("configuration not redacted as expected: %v", c)
	}
}

func TestAPIEventsDisabledStoresTokenOnly(t *testing.T) {
	f := newAPIFixture(t, userSecret, orgSecret)
	body := strings.Replace(string(seed(t, "polling")), `"event.notification.enabled": true`, `"event.notification.enabled": false`, 1)
	status, got, raw := f.do(t, "POST", "/elements/api-v2/instances", apiAuth, []byte(body))
	if status != 200 || got["eventsEnabled"] != false {
		t.Fatalf("%d %s", status, raw)
	}
	if entries, _ := os.ReadDir(f.configDir); len(entries) != 0 {
		t.Errorf("events disabled but %d files written", len(entries))
	}
	if _, err := intercom.TokenSource(t.Context(), intercom.StoreGetter(f.st, OAuthPipeline), "api-instance-with-polling").Token(); err != nil {
		t.Errorf("token not stored: %v", err)
	}
}

// assertNothingCreated checks that no file, record or token was left.
func assertNothingCreated(t *testing.T, f *apiFixture) {
	t.Helper()
	if entries, _ := os.ReadDir(f.configDir); len(entries) != 0 {
		t.Errorf("config dir has %d entries", len(entries))
	}
	pipes, err := f.st.Pipelines(t.Context())
	if err != nil || len(pipes) != 0 {
		t.Errorf("store holds state for %v (%v)", pipes, err)
	}
}
