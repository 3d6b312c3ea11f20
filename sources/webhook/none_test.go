package webhook

import (
	"bytes"
	"net/http"
	"testing"
)

func TestVerifyNoneStoresAnyJSONAndRejectsTheRest(t *testing.T) {
	h, _ := start(t, func(o *Options) { o.Verify = VerifyNone; o.MaxBody = 64 })
	for _, body := range []string{`{"a":1}`, `[1,2]`, `"text"`} {
		if r := h.Post([]byte(body), "webhook-id", "id-"+body); r.Code != http.StatusOK || r.Status != "stored" {
			t.Fatalf("%s: got %d %+v, want stored", body, r.Code, r)
		}
	}
	if r := h.Post([]byte(`{"a":`)); r.Code != http.StatusBadRequest {
		t.Fatalf("invalid JSON: got %d, want 400", r.Code)
	}
	if r := h.Post(bytes.Repeat([]byte(" "), 65)); r.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("65 bytes with max_body 64: got %d, want 413", r.Code)
	}
	if n := h.Counters().Stored.Load(); n != 3 {
		t.Fatalf("stored %d, want 3", n)
	}
}
