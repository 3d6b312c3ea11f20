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

func TestDecodeJSONRefusesDuplicateKeys(t *testing.T) {
	for _, in := range []string{
		`{"id":"a","id":"b"}`,
		`{"data":{"item":{"id":"1","x":[{"k":1}],"id":"2"}}}`,
		`{"a\u0062":1,"ab":2}`, // the same key, once escaped
		`[{"x":1},{"y":2,"y":3}]`,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":0}`,
	} {
		if _, err := DecodeJSON([]byte(in)); err == nil || !strings.Contains(err.Error(), "duplicate key") {
			t.Errorf("DecodeJSON(%s) error = %v, want duplicate key", in, err)
		}
	}
	for _, in := range []string{
		`{"a":{"id":1},"b":{"id":2},"id":3}`, // one key per object
		`{"s":"\"id\":1,\"id\":2","id":0}`,   // keys inside a string value
		`[{"id":1},{"id":1}]`,
	} {
		if _, err := DecodeJSON([]byte(in)); err != nil {
			t.Errorf("DecodeJSON(%s) = %v, want accepted", in, err)
		}
	}
}
