package intake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
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

// FuzzDecodeJSON checks DecodeJSON against encoding/json: the same value
// for every body encoding/json accepts without a repeated key, a refusal
// for every body it refuses or that repeats a key.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"notification_event","id":"notif_1","data":{"item":{"id":"7","n":1.5e3,"t":[true,false,null]}}}`,
		`{"a\u0062":1,"ab":2}`, `"\ud83d\ude00 \ud83d x \udc00\ud800 \u00e9"`, "\"\xff\xfe ok \xe2\x82\"",
		`[-0, 0.1, 1e400, -1e-400, 12345678901234567890]`, `{"a":{"a":1},"b":[{"a":1},{"a":2}]}`,
		` {"x" : [ ] , "y" : { } } `, `{"a":1,"a":1}`, `[1,]`, `{"a" 1}`, `01`, `1.`, `1e`, `-`, `"\u12"`,
		`"\x"`, "\"a\tb\"", `"\/\b\f\n\r\t\"\\"`, `tru`, `nulll`, `[[[[]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeJSON(body)
		var want any
		werr := json.Unmarshal(body, &want)
		if werr == nil {
			if _, dup := refDuplicateKey(body); dup {
				werr = errDuplicateKey("")
			}
		}
		switch {
		case werr != nil && err == nil:
			t.Fatalf("DecodeJSON(%q) = %#v, want an error like %v", body, got, werr)
		case werr == nil && err != nil:
			t.Fatalf("DecodeJSON(%q) failed: %v; encoding/json gives %#v", body, err, want)
		case werr == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("DecodeJSON(%q) = %#v, encoding/json gives %#v", body, got, want)
		case err != nil && !strings.HasPrefix(err.Error(), "invalid JSON"):
			t.Fatalf("DecodeJSON(%q) error %q does not start with invalid JSON", body, err)
		}
	})
}

// TestDecodeJSONNesting keeps encoding/json's depth limit.
func TestDecodeJSONNesting(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	if _, err := DecodeJSON(deep(10000)); err != nil {
		t.Fatalf("depth 10000: %v", err)
	}
	if _, err := DecodeJSON(deep(10001)); err == nil {
		t.Fatal("depth 10001 accepted")
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"type":"notification_event","app_id":"abc123","data":{"type":"notification_event_data","item":{"type":"conversation","id":"335","created_at":1719492795,"updated_at":1719492795,"source":{"type":"conversation","id":"403918316","delivered_as":"admin_initiated","subject":"","body":"<p>Hello there, how can I help?</p>","author":{"type":"admin","id":"991267497","name":"Ciaran Lee","email":"admin@email.com"},"attachments":[],"url":null,"redacted":false},"contacts":{"type":"contact.list","contacts":[{"type":"contact","id":"6657adc86abd0167d9419d1c","external_id":"70"}]},"teammates":null,"title":null,"admin_assignee_id":null,"team_assignee_id":null,"custom_attributes":{},"open":true,"state":"open","read":false,"tags":{"type":"tag.list","tags":[]},"priority":"not_priority","sla_applied":null,"statistics":null,"conversation_rating":null}},"links":{},"id":"notif_ccd8a4d2-3b3b-4b3a-9b1a-7f3b4a1f2e3d","topic":"conversation.admin.replied","delivery_status":"pending","delivery_attempts":1,"delivered_at":0,"first_sent_at":1719492795,"created_at":1719492795,"self":null}`)
	b.Run("DecodeJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeJSON(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json+dupkeys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
			refDuplicateKey(body)
		}
	})
}

func TestIndexKeyLayout(t *testing.T) {
	at := time.Unix(1719492795, 123)
	if got, want := indexKey(at, "notif_1"), fmt.Sprintf("%s%020d/%s", IndexPrefix, at.UnixNano(), "notif_1"); got != want {
		t.Fatalf("indexKey = %q, want %q", got, want)
	}
	if got := indexKey(time.Unix(-5, 0), "x"); got != IndexPrefix+"00000000000000000000/x" {
		t.Fatalf("indexKey before 1970 = %q", got)
	}
}

func TestDedupeKeysAreMarkAndIndexKey(t *testing.T) {
	at := time.Unix(1719492795, 123456789)
	for _, id := range []string{"notif_1", strings.Repeat("é", 150)} {
		mark, index := dedupeKeys(at, id)
		if mark != MarkKey(id) || index != indexKey(at, id) {
			t.Errorf("dedupeKeys(%q) = %q, %q; want %q, %q", id, mark, index, MarkKey(id), indexKey(at, id))
		}
	}
}
