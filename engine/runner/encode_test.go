package runner

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzMarshalMatchesEncodingJSON: for every decodable JSON document, with
// numbers as float64 and as json.Number, marshal writes exactly what
// encoding/json writes (stored bodies and golden outputs must not change).
func FuzzMarshalMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `[1,2.5,-0,1e21,1e-7,123456789012345678901,0.000001]`,
		`{"b":1,"a":{"z":[],"y":{}},"":"\u2028\u2029\u0000\b\f\n\r\t\"\\/<>&é\ud800"}`,
		"\"\xff\xfe invalid utf-8\"", `{"message":{"raw":{"html":"<p>Hello &amp; bye</p>"}}}`,
		`[1E400]`, `[-1.5e-300, 5e-324, 1.7976931348623157e308]`,
	} {
		f.Add([]byte(s))
	}
	if files, _ := filepath.Glob("../../transforms/jq/testdata/golden/*/*.json"); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var plain any
		if err := json.Unmarshal(doc, &plain); err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var numbers any
		if err := dec.Decode(&numbers); err != nil {
			return
		}
		for _, v := range []any{plain, numbers, map[string]any{"n": json.Number("01"), "i": 7, "f": math.NaN()}} {
			want, werr := marshalReflect(v)
			got, gerr := marshal(v)
			if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("marshal(%s):\n got %s (%v)\nwant %s (%v)", doc, got, gerr, want, werr)
			}
		}
	})
}

// BenchmarkMarshalEnvelope encodes the jq output for a real Intercom
// webhook (the golden case's expected envelope) both ways.
func BenchmarkMarshalEnvelope(b *testing.B) {
	doc, err := os.ReadFile("../../transforms/jq/testdata/golden/webhook-conversation-user-created/want.json")
	if err != nil {
		b.Skip(err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		b.Fatal(err)
	}
	for _, enc := range []struct {
		name string
		fn   func(any) ([]byte, error)
	}{{"encoding-json", marshalReflect}, {"appendJSON", marshal}} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.fn(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
