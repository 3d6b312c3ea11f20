package goldentest_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/connectord/connectord/pipelines/goldentest"
	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sources/intercomwebhook"
	_ "github.com/connectord/connectord/sources/webhook"
	_ "github.com/connectord/connectord/transforms/jq"
)

// A pipeline signing with Standard Webhooks (whose timestamp comes from the
// case's fixed clock) and a jq step that fails on one input.
const pipeline = `name: hooks
source:
  intercom_webhook: {path: /in, client_secret: s}
transforms:
  - jq: 'if .fail then error("refused") else {message: {eventId: .id, events: [{objectId: .id}]}, n: .n} end'
sink:
  http: {url: "${RECEIVER}/cb", signature: {key: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", scheme: standard}}
`

func setup(t *testing.T) (config, testdata string) {
	t.Helper()
	root := t.TempDir()
	config, testdata = filepath.Join(root, "pipelines"), filepath.Join(root, "testdata")
	caseDir := filepath.Join(testdata, "hooks", "two-requests")
	for _, d := range []string{config, caseDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(config, "hooks.yaml"), pipeline)
	write(filepath.Join(caseDir, "case.yaml"), "now: 2024-06-27T12:00:00Z\nenv: {RECEIVER: \"${TEST_RECEIVER}\"}\n")
	write(filepath.Join(caseDir, "request.json"), `[
  {"body": {"id": "n1", "n": 1}, "sign": {"secret": "s"}},
  {"body": {"id": "n2", "fail": true}, "sign": {"secret": "s"}},
  {"body": {"id": "n3", "n": 3}, "headers": {"X-Hub-Signature": "sha1=00"}}
]`)
	return config, testdata
}

func run(t *testing.T, opts goldentest.Options) goldentest.Result {
	t.Helper()
	res, err := goldentest.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	return res[0]
}

func TestRunnerUpdateThenPassThenDiff(t *testing.T) {
	config, testdata := setup(t)
	opts := goldentest.Options{ConfigDir: config, TestdataDir: testdata}

	if r := run(t, opts); r.Err == nil || !strings.Contains(r.Err.Error(), "--update") {
		t.Fatalf("without expected.http: %+v", r)
	}
	opts.Update = true
	if r := run(t, opts); !r.Updated {
		t.Fatalf("update: %+v", r)
	}
	expected := filepath.Join(testdata, "hooks", "two-requests", "expected.http")
	got, _ := os.ReadFile(expected)
	for _, want := range []string{
		"### webhook answers\n200 200 401\n",
		"Webhook-Id: n1\n",
		// The fixed clock: 2024-06-27T12:00:00Z.
		"Webhook-Timestamp: 1719489600\n",
		// The Standard Webhooks signature of exactly these bytes with the
		// published test secret, as computed by the sink.
		"Webhook-Signature: v1,",
		`{"message":{"eventId":"n1","events":[{"objectId":"n1"}]},"n":1}`,
		"### dead letter (transform)\nid: n2\nerror: transform 1: ",
		"refused",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("expected.http lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "n3") {
		t.Error("the request with a bad signature produced output")
	}

	opts.Update = false
	if r := run(t, opts); !r.Passed {
		t.Fatalf("second run does not reproduce the output:\n%s", r.Diff)
	}

	// One changed byte in the expectation fails with a readable diff.
	os.WriteFile(expected, []byte(strings.Replace(string(got), `"n":1}`, `"n":2}`, 1)), 0o644)
	r := run(t, opts)
	if r.Passed || !strings.Contains(r.Diff, "- {\"message\"") || !strings.Contains(r.Diff, `"n":1}`) {
		t.Fatalf("mismatch not reported as a diff: passed=%v\n%s", r.Passed, r.Diff)
	}
}

func TestRunnerRunFilterAndExplain(t *testing.T) {
	config, testdata := setup(t)
	var explain strings.Builder
	res, err := goldentest.Run(context.Background(), goldentest.Options{
		ConfigDir: config, TestdataDir: testdata, Update: true, Verbose: &explain, Run: regexp.MustCompile("^hooks/"),
	})
	if err != nil || len(res) != 1 {
		t.Fatalf("%v %v", res, err)
	}
	for _, want := range []string{"stage 1 (jq at ", "event n1", `"n": 1`, "error (event dead-lettered)"} {
		if !strings.Contains(explain.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, explain.String())
		}
	}
	res, _ = goldentest.Run(context.Background(), goldentest.Options{ConfigDir: config, TestdataDir: testdata, Run: regexp.MustCompile("^nothing$")})
	if len(res) != 0 {
		t.Errorf("--run matched %d cases, want 0", len(res))
	}
}

// Every webhook source signs its own "sign" requests (goldentest.TestSigner)
// in the scheme its pipeline configures: the runner knows none of them. A
// request signed with another secret is refused, so the signature is real.
func TestSourcesSignTheirOwnRequests(t *testing.T) {
	for name, src := range map[string]string{
		"standard":    `webhook: {path: /in, verify: standard, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`,
		"hmac_sha256": `webhook: {path: /in, verify: hmac_sha256, header: X-Signature, secret: "k"}`,
		"intercom":    `intercom_webhook: {path: /in, client_secret: k}`,
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			config, testdata := filepath.Join(root, "pipelines"), filepath.Join(root, "testdata")
			caseDir := filepath.Join(testdata, "signed", "one")
			for _, d := range []string{config, caseDir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			secret := "k"
			if name == "standard" {
				secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
			}
			files := map[string]string{
				filepath.Join(config, "signed.yaml"): "name: signed\nsource:\n  " + src + "\nsink:\n  http: {url: \"${RECEIVER}/cb\"}\n",
				filepath.Join(caseDir, "case.yaml"):  "env: {RECEIVER: \"${TEST_RECEIVER}\"}\n",
				filepath.Join(caseDir, "request.json"): `[{"body": {"type": "notification_event", "id": "n1", "topic": "contact.user.created", "data": {"item": {"type": "contact", "id": "c1"}}}, "sign": {"secret": "` + secret + `"}},
 {"body": {"type": "notification_event", "id": "n2", "topic": "contact.user.created", "data": {"item": {"type": "contact", "id": "c2"}}}, "sign": {"secret": "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}]`,
			}
			for path, s := range files {
				if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := run(t, goldentest.Options{ConfigDir: config, TestdataDir: testdata, Update: true})
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			got, err := os.ReadFile(filepath.Join(caseDir, "expected.http"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), "### webhook answers\n200 401\n") {
				t.Fatalf("want the signed request stored and the wrongly signed one refused:\n%s", got)
			}
		})
	}
}
