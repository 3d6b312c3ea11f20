package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// parseNode parses text with yaml.v3 alone, as a caller outside Load would.
func parseNode(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// decodeErrs decodes text into out and returns the errors' texts.
func decodeErrs(t *testing.T, text string, out any, opts ...DecodeOption) []string {
	t.Helper()
	_, errs := Decode("f.yaml", parseNode(t, text), out, opts...)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return msgs
}

func TestDecodeKeepsDefaults(t *testing.T) {
	for _, text := range []string{"", "~", "{}", "max_in_flight: ~\nretry:\ntimeout:\n"} {
		got := newSampleHTTP()
		if errs := decodeErrs(t, text, got); errs != nil {
			t.Fatalf("%q: %v", text, errs)
		}
		if !reflect.DeepEqual(got, newSampleHTTP()) {
			t.Errorf("%q changed the defaults: %+v", text, got)
		}
	}
}

func TestDecodeStruct(t *testing.T) {
	type inner struct {
		Shared string `yaml:"shared"`
	}
	type opts struct {
		inner   `yaml:",inline"`
		Plain   string
		Renamed int    `yaml:"renamed_field,omitempty"`
		Skipped string `yaml:"-"`
		//lint:ignore U1000 decoding must ignore unexported fields
		unexported string
		Ptr        *int           `yaml:"ptr"`
		Unset      *int           `yaml:"unset"`
		Tags       []string       `yaml:"tags"`
		Labels     map[string]int `yaml:"labels"`
		Addr       netip.Addr     `yaml:"addr"`
		Any        any            `yaml:"any"`
		U8         uint8          `yaml:"u8"`
		F          float32        `yaml:"f"`
		B          bool           `yaml:"b"`
		D          Duration       `yaml:"d"`
		S          Secret         `yaml:"s"`
		Node       yaml.Node      `yaml:"node"`
	}
	got := opts{Tags: []string{"default"}, Labels: map[string]int{"keep": 1, "over": 1}}
	ps, errs := Decode("f.yaml", parseNode(t, `shared: s
plain: p
renamed_field: 7
ptr: 5
tags: [a, b]
labels: {over: 2, new: 3}
addr: 10.0.0.1
any: {n: 1, f: 1.5, b: true, z: ~, s: x, l: [1, two], t: 2024-01-02}
u8: 255
f: 2
b: false
d: 90
s: hunter2
node: {x: 1}
`), &got)
	if errs != nil {
		t.Fatal(errs)
	}
	five := 5
	want := opts{
		inner: inner{Shared: "s"}, Plain: "p", Renamed: 7, Ptr: &five,
		Tags: []string{"a", "b"}, Labels: map[string]int{"keep": 1, "over": 2, "new": 3},
		Addr: netip.MustParseAddr("10.0.0.1"),
		Any: map[string]any{"n": 1, "f": 1.5, "b": true, "z": nil, "s": "x",
			"l": []any{1, "two"}, "t": "2024-01-02"},
		U8: 255, F: 2, B: false, D: Duration(90 * time.Second), S: "hunter2",
	}
	got.Node = yaml.Node{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for path, line := range map[string]int{"": 1, "shared": 1, "tags.1": 5, "labels.new": 6, "any.l.1": 8, "s": 13} {
		if p := ps[path]; p.Line != line || p.File != "f.yaml" {
			t.Errorf("Positions[%q] = %v, want line %d", path, p, line)
		}
	}
	if p := ps.Of("labels.new.deeper"); p.Line != 6 {
		t.Errorf("Of falls back to the parent: %v", p)
	}
}

func TestDecodeErrors(t *testing.T) {
	type opts struct {
		Plain   string `yaml:"plain"`
		Skipped string `yaml:"-"`
		//lint:ignore U1000 decoding must ignore unexported fields
		hidden  string
		I8      int8             `yaml:"i8"`
		U       uint             `yaml:"u"`
		S       Secret           `yaml:"s"`
		Ch      chan int         `yaml:"ch"`
		IntKeys map[int]string   `yaml:"int_keys"`
		Iface   interface{ M() } `yaml:"iface"`
		Up      upper            `yaml:"up"`
		List    []int            `yaml:"list"`
	}
	var o opts
	got := decodeErrs(t, `plain: {a: 1}
skipped: x
hidden: x
i8: 300
u: -1
s: {key: hunter2}
ch: 1
int_keys: {1: a}
iface: 1
up: lower
list: [1, x, 3]
plain: again
[k]: v
`, &o, Within("test options"))
	want := []string{
		`f.yaml:1:8: field "plain": expected a string, got a mapping`,
		`f.yaml:2:1: unknown field "skipped" in test options`,
		`f.yaml:3:1: unknown field "hidden" in test options`,
		`f.yaml:4:5: field "i8": integer out of range for int8`,
		`f.yaml:5:4: field "u": expected a non-negative integer, got "-1"`,
		`f.yaml:6:4: field "s": expected a string, got a mapping`,
		`f.yaml:7:5: field "ch": cannot decode into chan int`,
		`f.yaml:8:11: field "int_keys": cannot decode into map[int]string: map keys must be strings`,
		`f.yaml:9:8: field "iface": cannot decode into interface { M() }`,
		`f.yaml:10:5: field "up": "lower" is not upper case`,
		`f.yaml:11:11: field "list.1": expected an integer, got "x"`,
		`f.yaml:12:1: duplicate key "plain" (first defined at f.yaml:1:1)`,
		`f.yaml:13:1: keys must be strings, got a list`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(strings.Join(got, "\n"), "hunter2") {
		t.Error("a secret is in an error")
	}
}

func TestDecodeBadTarget(t *testing.T) {
	n := parseNode(t, "a: 1")
	var s struct{ A int }
	for _, out := range []any{nil, s, (*struct{ A int })(nil)} {
		if _, errs := Decode("f.yaml", n, out); len(errs) != 1 || !strings.Contains(errs[0].Msg, "non-nil pointer") {
			t.Errorf("%T: %v", out, errs)
		}
	}
}

func TestDecodeShorthand(t *testing.T) {
	var o sampleJQ
	ps := decodeOK(t, "f.yaml", parseNode(t, "  '.a | .b'"), &o)
	if o.Program.Value != ".a | .b" || o.Program.Pos != (Position{"f.yaml", 1, 3}) || o.Program.Style != yaml.SingleQuotedStyle {
		t.Errorf("got %+v", o.Program)
	}
	if ps["program"] != (Position{"f.yaml", 1, 3}) {
		t.Errorf("positions %v", ps)
	}
	if errs := decodeErrs(t, "[a]", &o); len(errs) != 1 || !strings.Contains(errs[0], "expected a mapping, got a list") {
		t.Errorf("a list: %v", errs)
	}
}

// TestDecodeRawMerges: nodes that did not come through Load get aliases
// and merge keys resolved, and duplicate keys reported, by Decode itself.
func TestDecodeRawMerges(t *testing.T) {
	n := parseNode(t, `base: &b {url: u, max_in_flight: 2, retry: {max_attempts: 3}}
use:
  <<: *b
  max_in_flight: 4
`)
	var o sampleHTTP
	decodeOK(t, "f.yaml", n.Content[0].Content[3], &o)
	if o.URL != "u" || o.MaxInFlight != 4 || o.Retry == nil || o.Retry.MaxAttempts != 3 {
		t.Errorf("got %+v", o)
	}
	var g any
	decodeOK(t, "f.yaml", n, &g)
	use := g.(map[string]any)["use"].(map[string]any)
	if _, ok := use["<<"]; ok || use["url"] != "u" || use["max_in_flight"] != 4 {
		t.Errorf("generic merge: %v", use)
	}
}

// TestDecodeHidesEnvValues: no error shows a value from the environment,
// even one written by a yaml.Unmarshaler that knows nothing about it.
func TestDecodeHidesEnvValues(t *testing.T) {
	type opts struct {
		Up upper `yaml:"up"`
		N  int   `yaml:"n"`
		D  Duration
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"p.yaml": "name: p\nsource: {x: {up: '${V}', n: ${V}, d: x${V}}}\nsink: {x: ~}\n"})
	for _, v := range []string{"lowercase-secret", "ab"} {
		ps, errs := Load(dir, mapEnv(map[string]string{"V": v}))
		if errs != nil {
			t.Fatal(errs)
		}
		_, errs = Decode(ps[0].File, ps[0].Source.Node, &opts{})
		if len(errs) != 3 || strings.Contains(errs.Error(), v) {
			t.Errorf("%q: %v", v, errs)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"url", "retry", "max_in_flight", "signature", "timeout"}
	for key, want := range map[string]string{
		"retyr": "retry", "Retry": "retry", "maxInFlight": "max_in_flight", "max-in-flight": "max_in_flight",
		"signatre": "signature", "urls": "url", "x": "", "headers": "", "timeouts_and_more": "",
	} {
		if got := suggest(key, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
