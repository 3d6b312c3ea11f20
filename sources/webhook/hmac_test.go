package webhook

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func TestHMACSHA256AcceptsDocumentedForms(t *testing.T) {
	const secret = "shop-secret"
	h, _ := start(t, func(o *Options) {
		o.Verify, o.Secret, o.Header = VerifyHMACSHA256, secret, "X-Signature-256"
	})
	body := []byte(`{"order":{"id":1001}}`)
	mac := macSHA256(secret, body)
	forms := map[string]string{
		"hex":             hex.EncodeToString(mac),
		"upper hex":       strings.ToUpper(hex.EncodeToString(mac)),
		"sha256= hex":     "sha256=" + hex.EncodeToString(mac),
		"SHA256= hex":     "SHA256=" + hex.EncodeToString(mac),
		"base64":          base64.StdEncoding.EncodeToString(mac),
		"base64 unpadded": base64.RawStdEncoding.EncodeToString(mac),
		"base64url":       base64.RawURLEncoding.EncodeToString(mac),
		"sha256= base64":  "sha256=" + base64.StdEncoding.EncodeToString(mac),
	}
	for name, sig := range forms {
		if r := h.Post(body, "X-Signature-256", sig); r.Code != http.StatusOK || r.Status != "stored" {
			t.Errorf("%s: got %d %+v, want stored", name, r.Code, r)
		}
	}
	// Without a webhook-id, every copy is stored, under the same body-hash id.
	if n := h.Counters().Stored.Load(); n != uint64(len(forms)) {
		t.Fatalf("stored %d, want %d", n, len(forms))
	}
	ids := map[string]bool{}
	for _, ev := range h.Tap.Events() {
		ids[ev.ID] = true
		if _, ok := ev.Meta["headers"].(map[string]any)["x-signature-256"]; ok {
			t.Fatal("signature header reached $meta")
		}
	}
	if len(ids) != 1 {
		t.Fatalf("ids %v, want one stable body-hash id", ids)
	}
}

func TestHMACSHA256Rejects(t *testing.T) {
	const secret = "shop-secret"
	h, _ := start(t, func(o *Options) {
		o.Verify, o.Secret, o.Header = VerifyHMACSHA256, secret, "x-signature-256"
	})
	body := []byte(`{"order":{"id":1001}}`)
	good := hex.EncodeToString(macSHA256(secret, body))
	for name, hdr := range map[string][]string{
		"missing":      nil,
		"wrong key":    {"X-Signature-256", hex.EncodeToString(macSHA256("other", body))},
		"other body":   {"X-Signature-256", hex.EncodeToString(macSHA256(secret, append(body, ' ')))},
		"truncated":    {"X-Signature-256", good[:62]},
		"sha1 length":  {"X-Signature-256", good[:40]},
		"other header": {"X-Hub-Signature-256", "sha256=" + good},
		"sha1= prefix": {"X-Signature-256", "sha1=" + good},
	} {
		t.Run(name, func(t *testing.T) {
			if r := h.Post(body, hdr...); r.Code != http.StatusUnauthorized || r.Error == "" {
				t.Fatalf("got %d %+v, want 401", r.Code, r)
			}
		})
	}
	h.AssertNotEmitted()
}

func TestHMACSHA256DedupesOnIDHeader(t *testing.T) {
	const secret = "k"
	h, _ := start(t, func(o *Options) {
		o.Verify, o.Secret, o.Header, o.IDHeader = VerifyHMACSHA256, secret, "X-Sig", "X-Delivery"
	})
	body := []byte(`{"a":1}`)
	sig := hex.EncodeToString(macSHA256(secret, body))
	for i, want := range []string{"stored", "duplicate"} {
		if r := h.Post(body, "X-Sig", sig, "X-Delivery", "d-1"); r.Status != want {
			t.Fatalf("post %d: got %+v, want %s", i, r, want)
		}
	}
	if ev := h.Tap.Events()[0]; ev.ID != "d-1" {
		t.Fatalf("event id %q, want the X-Delivery value", ev.ID)
	}
}
