package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner/runnertest"
)

const testPath = "/webhooks/generic"

// epoch is the fixed time of the tests' clock.
var epoch = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// start runs a webhook source configured by edit over a real store and
// HTTP server, with the clock fixed at epoch.
func start(t *testing.T, edit func(*Options)) (*runnertest.Harness, *runnertest.Clock) {
	t.Helper()
	o := newOptions()
	o.Path = testPath
	edit(o)
	clock := runnertest.NewClock(epoch)
	src, err := o.NewSource(engine.BuildContext{Pipeline: runnertest.Pipeline, Clock: clock})
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	return runnertest.Start(t, runnertest.Config{Source: src.(*Source), Kind: Kind, Clock: clock}), clock
}

// standardSig is computed here, independently of the source:
// "v1," + base64(HMAC-SHA256(key, id.ts.body)).
func standardSig(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func standardHeaders(id string, ts int64, sig string) []string {
	return []string{"webhook-id", id, "webhook-timestamp", strconv.FormatInt(ts, 10), "webhook-signature", sig}
}

func macSHA256(key string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return m.Sum(nil)
}
