package intercomwebhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner/runnertest"
)

func TestHeadAndGetAnswer200OtherMethods405(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	for _, m := range []string{http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(m, h.Srv.URL+testPath, nil)
		if r := h.Do(req); r.Code != http.StatusOK {
			t.Errorf("%s: got %d, want 200", m, r.Code)
		}
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, h.Srv.URL+testPath, strings.NewReader("{}"))
		r := h.Do(req)
		if r.Code != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("%s: got %d Allow=%q, want 405 with Allow", m, r.Code, r.Header.Get("Allow"))
		}
	}
	h.AssertNotEmitted()
}

func TestSignedNotificationIsStoredOnceAndDelivered(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	body := fixture(t)
	r := h.post(body, hubSignature(testSecret, body),
		"Authorization", "Bearer leak-me-not", "Cookie", "session=leak", "X-Trace", "first", "X-Trace", "second")
	if r.Code != http.StatusOK || r.Status != "stored" || r.Events != 1 {
		t.Fatalf("got %d %+v, want 200 stored 1", r.Code, r)
	}
	// Acknowledged means committed: the counter moved before the answer.
	if got := h.Counters().Stored.Load(); got != 1 {
		t.Fatalf("stored %d events at 200, want 1", got)
	}
	runnertest.WaitFor(t, "delivery", func() bool { return len(h.Sink.Deliveries()) == 1 })

	d := h.Sink.Deliveries()[0]
	if d.ID != "notif_123456-56465-546546" || d.Key != "123456789" {
		t.Errorf("delivery id/key = %q/%q, want notification id / data.item.id", d.ID, d.Key)
	}
	var sent, want map[string]any
	if err := json.Unmarshal(d.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("delivered value differs from the notification:\n got %s\nwant %s", d.Body, body)
	}
	if !bytes.Contains(d.Body, []byte("<p>An important message</p>")) {
		t.Errorf("HTML in the body was escaped: %s", d.Body)
	}

	evs := h.Tap.Events()
	if len(evs) != 1 {
		t.Fatalf("transform saw %d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.ID != "notif_123456-56465-546546" || ev.Key != "123456789" {
		t.Errorf("event id/key = %q/%q", ev.ID, ev.Key)
	}
	m := ev.Meta
	for k, want := range map[string]any{
		MetaTopic: "conversation.user.created", MetaAppID: "aaaaa",
		engine.MetaSource: Kind, engine.MetaPipeline: testPipeline,
		engine.MetaID: "notif_123456-56465-546546", engine.MetaObjectID: "123456789",
	} {
		if m[k] != want {
			t.Errorf("meta[%q] = %v, want %v", k, m[k], want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, m[engine.MetaReceived].(string)); err != nil {
		t.Errorf("meta received: %v", err)
	}
	headers, _ := m[engine.MetaHeaders].(map[string]any)
	if headers["user-agent"] != "intercom-parrot-service-client/1.0" || headers["content-type"] != "application/json" {
		t.Errorf("headers not captured by lower-case name: %v", headers)
	}
	if headers["x-trace"] != "first" {
		t.Errorf("x-trace = %v, want the first value", headers["x-trace"])
	}
	for _, secret := range []string{"authorization", "cookie", "x-hub-signature"} {
		if _, ok := headers[secret]; ok {
			t.Errorf("header %q reached $meta", secret)
		}
	}
	if !h.HasMark("notif_123456-56465-546546") {
		t.Error("no dedupe mark after storing")
	}
}

func TestBadSignaturesAre401AndStoreNothing(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	body := notification("notif_1", "conversation.user.created", "1")
	good := hubSignature(testSecret, body)
	cases := map[string]string{
		"missing":           "",
		"wrong secret":      hubSignature("not-the-secret", body),
		"other body":        hubSignature(testSecret, append(body, ' ')),
		"no prefix":         strings.TrimPrefix(good, "sha1="),
		"sha256 prefix":     "sha256=" + strings.TrimPrefix(good, "sha1="),
		"not hex":           "sha1=" + strings.Repeat("zz", 20),
		"short":             good[:len(good)-2],
		"long":              good + "00",
		"prefix only":       "sha1=",
		"base64 not hex":    "sha1=" + "q83vEjRWeJq83vEjRWeJq83vEjQ=",
		"junk before":       "x" + good,
		"one digit flipped": good[:len(good)-1] + flip(good[len(good)-1]),
	}
	for name, sig := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.post(body, sig)
			if r.Code != http.StatusUnauthorized || r.Error == "" {
				t.Fatalf("got %d %+v, want 401 with an error", r.Code, r)
			}
			if strings.Contains(r.Error, testSecret) || strings.Contains(r.Error, strings.TrimPrefix(good, "sha1=")) {
				t.Fatalf("error reveals the secret or the expected signature: %q", r.Error)
			}
		})
	}
	h.AssertNotEmitted()
	// Upper-case hex is the same signature.
	if r := h.post(body, "sha1="+strings.ToUpper(strings.TrimPrefix(good, "sha1="))); r.Code != http.StatusOK {
		t.Fatalf("upper-case hex: got %d, want 200", r.Code)
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestBodyOverMaxBodyIs413(t *testing.T) {
	const limit = 1024
	h := startHarness(t, harnessOpts{options: func(o *Options) { o.MaxBody = limit }})
	pad := func(n int) []byte {
		b := []byte(`{"id":"notif_big","topic":"conversation.user.created","pad":"`)
		b = append(b, bytes.Repeat([]byte("x"), n-len(b)-2)...)
		return append(b, '"', '}')
	}
	over := pad(limit + 1)
	if r := h.postSigned(over); r.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("Content-Length over the limit: got %d, want 413", r.Code)
	}
	// Without Content-Length the limit is found while reading.
	req, _ := http.NewRequest(http.MethodPost, h.Srv.URL+testPath, struct{ *bytes.Reader }{bytes.NewReader(over)})
	req.Header.Set("X-Hub-Signature", hubSignature(testSecret, over))
	if r := h.Do(req); r.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked over the limit: got %d, want 413", r.Code)
	}
	h.AssertNotEmitted()
	if r := h.postSigned(pad(limit)); r.Code != http.StatusOK || r.Status != "stored" {
		t.Fatalf("exactly max_body: got %d %+v, want 200 stored", r.Code, r)
	}
}

func TestInvalidJSONIs400(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	for name, body := range map[string]string{
		"truncated":   `{"id":"notif_1","topic":`,
		"not json":    `id=notif_1&topic=ping`,
		"empty":       ``,
		"array":       `[{"id":"notif_1"}]`,
		"string":      `"notif_1"`,
		"two objects": `{"id":"a"}{"id":"b"}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := h.postSigned([]byte(body))
			if r.Code != http.StatusBadRequest || r.Error == "" {
				t.Fatalf("got %d %+v, want 400 with a message", r.Code, r)
			}
		})
	}
	h.AssertNotEmitted()
}

func TestPingIsAcknowledgedWithoutAnEvent(t *testing.T) {
	h := startHarness(t, harnessOpts{options: func(o *Options) { o.Topics = []string{"contact.created"} }})
	r := h.postSigned(notification("notif_ping", "ping", ""))
	if r.Code != http.StatusOK || r.Status != "ping" || r.Events != 0 {
		t.Fatalf("got %d %+v, want 200 ping 0", r.Code, r)
	}
	h.AssertNotEmitted()
	// A ping still has to be signed.
	if r := h.post(notification("notif_ping", "ping", ""), ""); r.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned ping: got %d, want 401", r.Code)
	}
}

func TestTopicAllowList(t *testing.T) {
	h := startHarness(t, harnessOpts{options: func(o *Options) { o.Topics = []string{"conversation.*", "contact.created"} }})
	for _, topic := range []string{"company.created", "contact.deleted", "conversation_part.tag.created", ""} {
		r := h.postSigned(notification("notif_"+topic, topic, "9"))
		if r.Code != http.StatusOK || r.Status != "ignored" || r.Events != 0 || !strings.Contains(r.Reason, "not in") {
			t.Fatalf("topic %q: got %d %+v, want 200 ignored with a reason", topic, r.Code, r)
		}
	}
	h.AssertNotEmitted()
	for i, topic := range []string{"conversation.user.created", "conversation.admin.closed", "contact.created"} {
		r := h.postSigned(notification("notif_ok"+string(rune('a'+i)), topic, "9"))
		if r.Code != http.StatusOK || r.Status != "stored" {
			t.Fatalf("topic %q: got %d %+v, want stored", topic, r.Code, r)
		}
	}
	if got := h.Counters().Stored.Load(); got != 3 {
		t.Fatalf("stored %d, want 3", got)
	}
}

func TestDuplicateIDIsAcknowledgedAndStoredOnce(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	body := notification("notif_dup", "conversation.user.replied", "42")
	if r := h.postSigned(body); r.Status != "stored" {
		t.Fatalf("first: %+v", r)
	}
	// Intercom retries with the same id; the body may differ (delivery_attempts).
	retry := bytes.Replace(body, []byte(`"created_at"`), []byte(`"delivery_attempts":2,"created_at"`), 1)
	for _, b := range [][]byte{body, retry} {
		r := h.postSigned(b)
		if r.Code != http.StatusOK || r.Status != "duplicate" || r.Events != 0 {
			t.Fatalf("resend: got %d %+v, want 200 duplicate", r.Code, r)
		}
	}
	if got := h.Counters().Stored.Load(); got != 1 {
		t.Fatalf("stored %d events, want 1", got)
	}
	runnertest.WaitFor(t, "delivery", func() bool { return len(h.Sink.Deliveries()) == 1 })
}

// TestNotificationWithoutIDGetsAStableID: a signed notification without an
// id gets one derived from its content (not from the fields a retry
// changes), so Intercom's resend is a duplicate and the callback's eventId
// is never empty; a different notification gets a different id.
func TestNotificationWithoutIDGetsAStableID(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	body := notification("", "conversation.user.created", "7")
	if r := h.postSigned(body); r.Status != "stored" {
		t.Fatalf("first: %+v", r)
	}
	retry := bytes.Replace(body, []byte(`"created_at"`), []byte(`"delivery_attempts":2,"created_at"`), 1)
	if r := h.postSigned(retry); r.Code != http.StatusOK || r.Status != "duplicate" {
		t.Fatalf("resend: %d %+v, want duplicate", r.Code, r)
	}
	if r := h.postSigned(notification("", "conversation.user.created", "8")); r.Status != "stored" {
		t.Fatalf("another object: %+v, want stored", r)
	}
	runnertest.WaitFor(t, "deliveries", func() bool { return len(h.Sink.Deliveries()) == 2 })
	ids := map[string]bool{}
	for _, d := range h.Sink.Deliveries() {
		if !strings.HasPrefix(d.ID, "notif_derived_") {
			t.Errorf("eventId %q, want a derived id", d.ID)
		}
		ids[d.ID] = true
	}
	if len(ids) != 2 {
		t.Errorf("ids %v: want two different ids", ids)
	}
}

// TestDuplicateKeysAre400: a signed body with a key twice in one object
// (last-wins would let it say two things) is refused and stores nothing.
func TestDuplicateKeysAre400(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	body := []byte(`{"type":"notification_event","id":"notif_d","topic":"conversation.user.created","topic":"ping","data":{"item":{"id":"1"}}}`)
	if r := h.postSigned(body); r.Code != http.StatusBadRequest || !strings.Contains(r.Error, "duplicate key") {
		t.Fatalf("got %d %+v, want 400 duplicate key", r.Code, r)
	}
	h.AssertNotEmitted()
}

func TestInsecureSkipVerifyAcceptsUnsigned(t *testing.T) {
	h := startHarness(t, harnessOpts{options: func(o *Options) { o.ClientSecret = ""; o.InsecureSkipVerify = true }})
	if r := h.post(notification("notif_u", "contact.created", "1"), ""); r.Code != http.StatusOK || r.Status != "stored" {
		t.Fatalf("got %d %+v, want stored", r.Code, r)
	}
}

func TestSignIntercomMatchesIndependentHMAC(t *testing.T) {
	body := fixture(t)
	if got, want := SignIntercom([]byte(testSecret), body), hubSignature(testSecret, body); got != want {
		t.Fatalf("SignIntercom = %s, want %s", got, want)
	}
}
