package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"

	_ "github.com/connectord/connectord/sources/intercomwebhook"
)

const socTestdata = "internal/soc/testdata/import"

func TestImportCommand(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"import", filepath.Join(socTestdata, "template.json"), "--out", out, "--name-prefix", "oc-"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	yml, err := os.ReadFile(filepath.Join(out, "oc-instance-name-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cret-signing-key", "xxxxxxxxxxxxxxxxxxxxx"} {
		if bytes.Contains(yml, []byte(secret)) || strings.Contains(stdout.String()+stderr.String(), secret) {
			t.Errorf("a secret was written or printed")
		}
	}
	if !strings.Contains(string(yml), "name: oc-instance-name-template-conversations") {
		t.Errorf("prefix not applied:\n%s", yml)
	}
	if !strings.Contains(stdout.String(), "OC_INSTANCE_NAME_TEMPLATE_SIGNATURE_KEY") || !strings.Contains(stdout.String(), "--name oc-instance-name-template") {
		t.Errorf("stdout does not name the variable and the auth command:\n%s", stdout.String())
	}
	for _, key := range []string{"oauth.user.refresher_time", "event.notification.instance.finder", `"description"`, "where clause"} {
		if !strings.Contains(stderr.String(), "warning: ") || !strings.Contains(stderr.String(), key) {
			t.Errorf("stderr does not warn about %s:\n%s", key, stderr.String())
		}
	}
	// No overwrite without --force; --force replaces the file.
	if code := dispatch([]string{"import", filepath.Join(socTestdata, "template.json"), "--out", out, "--name-prefix", "oc-"}, io.Discard, io.Discard); code != exitInvalid {
		t.Errorf("second import exit %d, want %d", code, exitInvalid)
	}
	if code := dispatch([]string{"import", "--force", "--out", out, "--name-prefix", "oc-", filepath.Join(socTestdata, "template.json")}, io.Discard, io.Discard); code != exitOK {
		t.Errorf("import --force (file last) exit %d", code)
	}
	// --token-env reads the token from a variable.
	stdout.Reset()
	if code := dispatch([]string{"import", filepath.Join(socTestdata, "polling.json"), "--out", out, "--token-env"}, &stdout, io.Discard); code != exitOK {
		t.Fatalf("import --token-env exit %d", code)
	}
	yml, _ = os.ReadFile(filepath.Join(out, "api-instance-with-polling.yaml"))
	if !strings.Contains(string(yml), "token: ${API_INSTANCE_WITH_POLLING_INTERCOM_TOKEN}") || !strings.Contains(stdout.String(), "API_INSTANCE_WITH_POLLING_INTERCOM_TOKEN") {
		t.Errorf("--token-env:\n%s\n%s", yml, stdout.String())
	}
}

func TestImportCommandErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"element": {"key": "hubspot"}, "name": "x"}`), 0o644)
	var stderr bytes.Buffer
	if code := dispatch([]string{"import", bad, "--out", t.TempDir()}, io.Discard, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "element.key") {
		t.Errorf("exit %d, stderr %s", code, stderr.String())
	}
	if code := dispatch([]string{"import"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("no file: exit %d, want %d", code, exitUsage)
	}
}

// TestInstancesAPIOnDaemon creates the webhook seed instance through a real
// daemon, then drives a signed Intercom notification through the pipeline
// the API wrote, to a local receiver, and deletes the instance.
func TestInstancesAPIOnDaemon(t *testing.T) {
	const clientSecret, sigKey = "fak3AP1-s3Cr3t", "xxxxxxxxxxxxxxxxxxxxxxxxx"
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"tok","access_token":"tok","token_type":"Bearer"}`)
	}))
	defer tokens.Close()
	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer receiver.Close()

	ctx := context.Background()
	cfgDir, dataDir := t.TempDir(), t.TempDir()
	d, err := daemon.Start(ctx, daemon.Config{
		ConfigDir: cfgDir, DataDir: dataDir, Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		Env:       func(string) (string, bool) { return "", false },
		Instances: soc.APIConfig{UserSecret: "u", OrgSecret: "o", TokenURL: tokens.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(ctx)

	body, _ := os.ReadFile(filepath.Join(socTestdata, "webhooks.json"))
	body = bytes.Replace(body, []byte("https://mycoolapp.com/events"), []byte(receiver.URL), 1)
	status, resp := call(t, "POST", "http://"+d.AdminAddr()+"/elements/api-v2/instances", body)
	if status != 200 {
		t.Fatalf("create: %d %s", status, resp)
	}
	if rs := d.ReloadStatus(); !rs.OK || !slices.Contains(rs.Result.Started, "api-instance-webhooks") {
		t.Fatalf("reload after create: %+v", rs)
	}

	note := []byte(`{"type":"notification_event","id":"notif_1","topic":"conversation.user.created","app_id":"a","data":{"type":"notification_event_data","item":{"type":"conversation","id":"335","created_at":1719492795,"open":null}},"created_at":1719492795}`)
	mac := hmac.New(sha1.New, []byte(clientSecret))
	mac.Write(note)
	req, _ := http.NewRequest("POST", "http://"+d.ListenAddr()+"/webhooks/intercom/api-instance", bytes.NewReader(note))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("signed notification answered %d: the client secret did not reach the pipeline", res.StatusCode)
	}
	select {
	case r := <-got:
		b := <-bodies
		sig := hmac.New(sha256.New, []byte(sigKey))
		sig.Write(b)
		if r.Header.Get("Elements-Webhook-Signature") != "sha256="+base64.StdEncoding.EncodeToString(sig.Sum(nil)) {
			t.Errorf("callback not signed with event.notification.signature.key")
		}
		var env struct {
			Message struct {
				Raw map[string]any `json:"raw"`
			} `json:"message"`
		}
		if json.Unmarshal(b, &env) != nil || strings.Contains(string(b), `"open":null`) {
			t.Errorf("filter.response.nulls not applied to raw: %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no callback delivered")
	}

	var created struct{ ID int }
	json.Unmarshal(resp, &created)
	if status, resp := call(t, "DELETE", "http://"+d.AdminAddr()+"/elements/api-v2/instances/"+strconv.Itoa(created.ID), nil); status != 200 {
		t.Fatalf("delete: %d %s", status, resp)
	}
	if rs := d.ReloadStatus(); !rs.OK || !slices.Contains(rs.Result.Stopped, "api-instance-webhooks") {
		t.Errorf("reload after delete: %+v", rs)
	}
}

func call(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("authorization", "User u, Organization o")
	req.Header.Set("content-type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}
