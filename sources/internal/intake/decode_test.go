package intake

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	ok := map[string]any{
		`{"id":"notif_1","n":1}`: map[string]any{"id": "notif_1", "n": 1.0},
		" [1, \"2\"] \n":         []any{1.0, "2"},
		`"s"`:                    "s",
		`null`:                   nil,
	}
	for in, want := range ok {
		got, err := DecodeJSON([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeJSON(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for _, in := range []string{``, `  `, `{`, `{"a":1}x`, `{"a":1} {"b":2}`, `{'a':1}`, `1 2`} {
		if _, err := DecodeJSON([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), "invalid JSON") {
			t.Errorf("DecodeJSON(%q) error = %v, want invalid JSON", in, err)
		}
	}
}

func TestCaptureHeadersDropsCredentialsAndSignature(t *testing.T) {
	h := http.Header{}
	h.Add("Content-Type", "application/json")
	h.Add("X-Multi", "one")
	h.Add("X-Multi", "two")
	h.Add("Authorization", "Bearer t")
	h.Add("Proxy-Authorization", "Basic x")
	h.Add("Cookie", "a=b")
	h.Add("X-Hub-Signature", "sha1=00")
	got := CaptureHeaders(h, "x-hub-signature")
	want := map[string]any{"content-type": "application/json", "x-multi": "one"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CaptureHeaders = %v, want %v", got, want)
	}
}
