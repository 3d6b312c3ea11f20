package webhook

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner/runnertest"
)

// key is the raw key behind whsecKey.
var key = []byte("0123456789abcdef0123456789abcdef")

var whsecKey = "whsec_" + base64.StdEncoding.EncodeToString(key)

func standardSource(t *testing.T) *runnertest.Harness {
	h, _ := start(t, func(o *Options) { o.Secret = config.Secret(whsecKey) })
	return h
}

func TestStandardValidIsStoredWithIDValueAndMeta(t *testing.T) {
	h := standardSource(t)
	body := []byte(`{"type":"invoice.paid","timestamp":"2026-05-04T10:00:00Z","data":{"id":"in_1","amount":1200}}`)
	ts := epoch.Unix() - 30
	r := h.Post(body, standardHeaders("msg_1", ts, standardSig(key, "msg_1", ts, body))...)
	if r.Code != http.StatusOK || r.Status != "stored" || r.Events != 1 {
		t.Fatalf("got %d %+v, want 200 stored", r.Code, r)
	}
	runnertest.WaitFor(t, "delivery", func() bool { return len(h.Sink.Deliveries()) == 1 })
	d := h.Sink.Deliveries()[0]
	var got, want any
	_ = json.Unmarshal(d.Body, &got)
	_ = json.Unmarshal(body, &want)
	if d.ID != "msg_1" || !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %s %s, want msg_1 and the body", d.ID, d.Body)
	}
	ev := h.Tap.Events()[0]
	headers := ev.Meta[engine.MetaHeaders].(map[string]any)
	if headers["webhook-id"] != "msg_1" || headers["webhook-timestamp"] == nil {
		t.Errorf("id/timestamp headers missing from meta: %v", headers)
	}
	if _, ok := headers["webhook-signature"]; ok {
		t.Error("webhook-signature reached $meta")
	}
	if ev.Meta[engine.MetaID] != "msg_1" || ev.Meta[engine.MetaSource] != Kind {
		t.Errorf("meta = %v", ev.Meta)
	}
	// A resend (same webhook-id, fresh timestamp and signature) is a duplicate.
	ts2 := epoch.Unix()
	r = h.Post(body, standardHeaders("msg_1", ts2, standardSig(key, "msg_1", ts2, body))...)
	if r.Code != http.StatusOK || r.Status != "duplicate" {
		t.Fatalf("resend: got %d %+v, want duplicate", r.Code, r)
	}
	if n := h.Counters().Stored.Load(); n != 1 {
		t.Fatalf("stored %d, want 1", n)
	}
}

func TestStandardRejectsAndStoresNothing(t *testing.T) {
	h := standardSource(t)
	body := []byte(`{"type":"ping"}`)
	now := epoch.Unix()
	good := standardSig(key, "msg_1", now, body)
	cases := map[string][]string{
		"wrong key":           standardHeaders("msg_1", now, standardSig([]byte("another key"), "msg_1", now, body)),
		"signed whsec text":   standardHeaders("msg_1", now, standardSig([]byte(whsecKey), "msg_1", now, body)),
		"other id":            standardHeaders("msg_2", now, good),
		"other timestamp":     standardHeaders("msg_1", now+1, good),
		"stale":               standardHeaders("msg_1", now-301, standardSig(key, "msg_1", now-301, body)),
		"future":              standardHeaders("msg_1", now+301, standardSig(key, "msg_1", now+301, body)),
		"ms timestamp":        standardHeaders("msg_1", now*1000, standardSig(key, "msg_1", now*1000, body)),
		"v2 scheme":           standardHeaders("msg_1", now, "v2,"+strings.TrimPrefix(good, "v1,")),
		"no scheme":           standardHeaders("msg_1", now, strings.TrimPrefix(good, "v1,")),
		"not base64":          standardHeaders("msg_1", now, "v1,%%%"),
		"missing id":          {"webhook-timestamp", "1", "webhook-signature", good},
		"missing timestamp":   {"webhook-id", "msg_1", "webhook-signature", good},
		"missing signature":   {"webhook-id", "msg_1", "webhook-timestamp", "1"},
		"malformed timestamp": {"webhook-id", "msg_1", "webhook-timestamp", "yesterday", "webhook-signature", good},
	}
	for name, hdr := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.Post(body, hdr...)
			if r.Code != http.StatusUnauthorized || r.Error == "" {
				t.Fatalf("got %d %+v, want 401", r.Code, r)
			}
		})
	}
	h.AssertNotEmitted()
	// Inside the tolerance, both ways, is accepted.
	for i, ts := range []int64{now - 299, now + 299} {
		id := []string{"msg_past", "msg_future"}[i]
		if r := h.Post(body, standardHeaders(id, ts, standardSig(key, id, ts, body))...); r.Code != http.StatusOK {
			t.Fatalf("timestamp %+ds: got %d %+v", ts-now, r.Code, r)
		}
	}
}

func TestStandardAcceptsAnyOfRotatedSignatures(t *testing.T) {
	h := standardSource(t)
	body := []byte(`{"n":1}`)
	now := epoch.Unix()
	old := standardSig([]byte("the previous key"), "msg_r", now, body)
	cur := standardSig(key, "msg_r", now, body)
	sigs := strings.Join([]string{old, "v1a,bm90LWVkMjU1MTk=", "v1,", cur}, " ")
	if r := h.Post(body, standardHeaders("msg_r", now, sigs)...); r.Code != http.StatusOK || r.Status != "stored" {
		t.Fatalf("got %d %+v, want stored", r.Code, r)
	}
	only := strings.Join([]string{old, "v1a,bm90LWVkMjU1MTk="}, " ")
	if r := h.Post(body, standardHeaders("msg_s", now, only)...); r.Code != http.StatusUnauthorized {
		t.Fatalf("no current signature: got %d, want 401", r.Code)
	}
}

func TestStandardSecretWithoutPrefixIsRawKey(t *testing.T) {
	h, _ := start(t, func(o *Options) { o.Secret = "plain-text-key" })
	body := []byte(`{}`)
	now := epoch.Unix()
	if r := h.Post(body, standardHeaders("m", now, standardSig([]byte("plain-text-key"), "m", now, body))...); r.Code != http.StatusOK {
		t.Fatalf("got %d %+v", r.Code, r)
	}
}

func TestStandardToleranceUsesThePipelineClock(t *testing.T) {
	h, clock := start(t, func(o *Options) { o.Secret = "k"; o.Tolerance = config.Duration(time.Minute) })
	body := []byte(`{}`)
	ts := epoch.Unix()
	if r := h.Post(body, standardHeaders("m1", ts, standardSig([]byte("k"), "m1", ts, body))...); r.Code != http.StatusOK {
		t.Fatalf("fresh: got %d %+v", r.Code, r)
	}
	clock.Advance(61 * time.Second)
	r := h.Post(body, standardHeaders("m2", ts, standardSig([]byte("k"), "m2", ts, body))...)
	if r.Code != http.StatusUnauthorized || !strings.Contains(r.Error, "tolerance") {
		t.Fatalf("61s later with tolerance 1m: got %d %+v, want 401", r.Code, r)
	}
}
