package httpsink_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

// The Standard Webhooks reference test vector: TestWebhookSign in
// standard-webhooks/standard-webhooks libraries/go/webhook_test.go
// (commit 449485caf9c0303530c19524fbe4096680aafcf1).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignStandardMatchesPublishedVector(t *testing.T) {
	key, err := httpsink.DecodeStandardSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := httpsink.SignStandard(key, vectorID, "1614265330", []byte(vectorBody))
	if got != vectorSignature {
		t.Fatalf("SignStandard = %s, want %s", got, vectorSignature)
	}
}

// The vector again, end to end: the sink decodes the whsec_ secret, stamps
// the attempt with its clock and sends exactly the published signature.
func TestStandardSchemeSendsPublishedVector(t *testing.T) {
	srv, got := newReceiver(t, 204)
	o := httpsink.Options{URL: srv.URL, Signature: httpsink.SignatureOptions{
		Key: vectorSecret, Scheme: httpsink.SchemeStandard}}
	s := newSink(t, o, httpsink.WithClock(fixedClock{time.Unix(vectorTimestamp, 0)}))
	if err := s.Deliver(context.Background(), engine.Delivery{ID: vectorID, Body: []byte(vectorBody)}); err != nil {
		t.Fatal(err)
	}
	r := receive(t, got)
	if sig := r.header.Get("webhook-signature"); sig != vectorSignature {
		t.Errorf("webhook-signature = %q, want %q", sig, vectorSignature)
	}
	if ts := r.header.Get("webhook-timestamp"); ts != "1614265330" {
		t.Errorf("webhook-timestamp = %q", ts)
	}
	if id := r.header.Get("webhook-id"); id != vectorID {
		t.Errorf("webhook-id = %q", id)
	}
}

func TestDecodeStandardSecret(t *testing.T) {
	raw, err := httpsink.DecodeStandardSecret("plain-key")
	if err != nil || string(raw) != "plain-key" {
		t.Errorf("plain secret: %q, %v; want it used as is", raw, err)
	}
	want := []byte{0, 1, 2, 250, 251}
	dec, err := httpsink.DecodeStandardSecret("whsec_" + base64.StdEncoding.EncodeToString(want))
	if err != nil || string(dec) != string(want) {
		t.Errorf("whsec_ secret: %v, %v; want %v", dec, err, want)
	}
	for _, bad := range []string{"", "whsec_", "whsec_not*base64*TOPSECRET"} {
		_, err := httpsink.DecodeStandardSecret(bad)
		if err == nil {
			t.Errorf("DecodeStandardSecret(%q) = nil error", bad)
			continue
		}
		if strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "base64*") {
			t.Errorf("error %q leaks the secret", err)
		}
	}
}

// verifyElements is an independent check of an Elements-Webhook-Signature.
func verifyElements(key string, body []byte, header string) bool {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	want := "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(header), []byte(want))
}

// verifyStandard is an independent check that one of the space-separated
// signatures in header was made with key.
func verifyStandard(key []byte, id, ts string, body []byte, header string) bool {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(header) {
		v, b64, ok := strings.Cut(sig, ",")
		if ok && v == "v1" && hmac.Equal([]byte(b64), []byte(want)) {
			return true
		}
	}
	return false
}

func TestElementsSignature(t *testing.T) {
	srv, got := newReceiver(t, 200)
	body := []byte(`{"message":{"eventId":"e1"}}`)
	s := newSink(t, httpsink.Options{URL: srv.URL, Signature: httpsink.SignatureOptions{Key: "k3y"}})
	if err := s.Deliver(context.Background(), engine.Delivery{ID: "e1", Body: body}); err != nil {
		t.Fatal(err)
	}
	r := receive(t, got)
	if !verifyElements("k3y", r.body, r.header.Get("Elements-Webhook-Signature")) {
		t.Errorf("signature %q does not verify", r.header.Get("Elements-Webhook-Signature"))
	}
	if verifyElements("other", r.body, r.header.Get("Elements-Webhook-Signature")) {
		t.Error("signature verifies with the wrong key")
	}
	if id := r.header.Get("Elements-Webhook-Id"); id != "e1" {
		t.Errorf("Elements-Webhook-Id = %q, want e1", id)
	}
	if len(r.header.Values("Webhook-Signature")) != 0 {
		t.Error("elements scheme sent a Standard Webhooks signature")
	}
}

func TestElementsWithoutKeySendsIDOnly(t *testing.T) {
	srv, got := newReceiver(t, 200)
	s := newSink(t, httpsink.Options{URL: srv.URL})
	if err := s.Deliver(context.Background(), engine.Delivery{ID: "e2", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	r := receive(t, got)
	if id := r.header.Get("Elements-Webhook-Id"); id != "e2" {
		t.Errorf("Elements-Webhook-Id = %q, want e2", id)
	}
	if sig, ok := r.header["Elements-Webhook-Signature"]; ok {
		t.Errorf("unsigned sink sent signature %q", sig)
	}
}

// During a rotation every live key signs, current key first, and each
// signature verifies with its own key.
func TestStandardRotationSignsWithEveryKey(t *testing.T) {
	srv, got := newReceiver(t, 200)
	current := []byte("current-key-bytes-0123456789")
	o := httpsink.Options{URL: srv.URL, Signature: httpsink.SignatureOptions{
		Scheme:       httpsink.SchemeStandard,
		Key:          config.Secret("whsec_" + base64.StdEncoding.EncodeToString(current)),
		PreviousKeys: []config.Secret{"old-raw-key"},
	}}
	now := time.Date(2024, 6, 27, 12, 53, 15, 0, time.UTC)
	// Built as the engine builds it, so the BuildContext clock is used.
	built, err := o.NewSink(engine.BuildContext{Pipeline: "p", Clock: fixedClock{now}})
	if err != nil {
		t.Fatal(err)
	}
	s := built.(*httpsink.Sink)
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Deliver(context.Background(), engine.Delivery{ID: "evt_1", Body: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	r := receive(t, got)
	ts := r.header.Get("webhook-timestamp")
	if ts != "1719492795" {
		t.Errorf("webhook-timestamp = %q, want the clock's 1719492795", ts)
	}
	header := r.header.Get("webhook-signature")
	sigs := strings.Split(header, " ")
	if len(sigs) != 2 {
		t.Fatalf("webhook-signature = %q, want 2 signatures", header)
	}
	for i, key := range [][]byte{current, []byte("old-raw-key")} {
		if !verifyStandard(key, "evt_1", ts, r.body, sigs[i]) {
			t.Errorf("signature %d %q does not verify with its key", i, sigs[i])
		}
	}
	if verifyStandard([]byte("stranger"), "evt_1", ts, r.body, header) {
		t.Error("a signature verifies with an unrelated key")
	}
	if _, ok := r.header["Elements-Webhook-Signature"]; ok {
		t.Error("standard scheme sent an Elements signature")
	}
}
