package jsonvalue

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestForJQKeepsFittingValuesUnchanged(t *testing.T) {
	in := map[string]any{"n": json.Number("12"), "a": []any{1.5, "s", nil, true, map[string]any{"b": big.NewInt(3)}}}
	out, err := ForJQ(in)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(out).UnsafePointer() != reflect.ValueOf(in).UnsafePointer() {
		t.Errorf("a fitting value was copied")
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = ForJQ(in) }); allocs != 0 {
		t.Errorf("ForJQ of a fitting value allocates %v times", allocs)
	}
}

func TestForJQConverts(t *testing.T) {
	type rec struct {
		A int `json:"a"`
	}
	in := map[string]any{
		"i64": int64(-7), "u64": uint64(math.MaxUint64), "f32": float32(0.5), "strs": []string{"x"},
		"hdr": map[string][]string{"k": {"v"}}, "rec": rec{1}, "ptr": (*rec)(nil), "bytes": []byte("hi"),
		"time": time.Date(2024, 6, 27, 12, 53, 15, 0, time.UTC), "named": namedMap{"z": int8(1)},
	}
	out, err := ForJQ(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i64": -7, "u64": new(big.Int).SetUint64(math.MaxUint64), "f32": 0.5, "strs": []any{"x"},
		"hdr": map[string]any{"k": []any{"v"}}, "rec": map[string]any{"a": json.Number("1")}, "ptr": nil,
		"bytes": "aGk=", "time": "2024-06-27T12:53:15Z", "named": map[string]any{"z": 1},
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("\n got %#v\nwant %#v", out, want)
	}
	if _, ok := in["i64"].(int64); !ok {
		t.Errorf("the input was modified")
	}
}

type namedMap map[string]any

func TestForJQRejectsNonJSON(t *testing.T) {
	if _, err := ForJQ(map[string]any{"ch": make(chan int)}); err == nil {
		t.Errorf("a channel was accepted")
	}
}

func TestForExprConvertsNumbersCopyOnWrite(t *testing.T) {
	shared := map[string]any{"s": "no numbers here"}
	in := map[string]any{"n": json.Number("42"), "f": json.Number("1.5"), "big": json.Number("1e400x"), "shared": shared}
	if _, err := ForExpr(in); err == nil {
		t.Errorf("an invalid json.Number was accepted")
	}
	delete(in, "big")
	out, err := ForExpr(in)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["n"] != 42 || m["f"] != 1.5 {
		t.Errorf("numbers: got %#v", m)
	}
	if reflect.ValueOf(m["shared"]).UnsafePointer() != reflect.ValueOf(shared).UnsafePointer() {
		t.Errorf("an unchanged subtree was copied")
	}
	if in["n"] != json.Number("42") {
		t.Errorf("the input was modified")
	}
}

func TestMarshalable(t *testing.T) {
	in := []any{math.NaN(), map[string]any{"a": math.Inf(1), "b": "s"}, math.Inf(-1), 1.0}
	out := Marshalable(in)
	want := []any{nil, map[string]any{"a": math.MaxFloat64, "b": "s"}, -math.MaxFloat64, 1.0}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %#v, want %#v", out, want)
	}
	if !math.IsNaN(in[0].(float64)) {
		t.Errorf("the input was modified")
	}
	fine := map[string]any{"a": []any{1.0, "x"}}
	if allocs := testing.AllocsPerRun(100, func() { Marshalable(fine) }); allocs != 0 {
		t.Errorf("Marshalable of a fine value allocates %v times", allocs)
	}
}

func TestIsPlain(t *testing.T) {
	for _, v := range []any{nil, true, 1, 1.5, big.NewInt(2), "s", []any{map[string]any{"a": []any{}}}} {
		if !IsPlain(v) {
			t.Errorf("IsPlain(%#v) = false", v)
		}
	}
	for _, v := range []any{json.Number("1"), math.NaN(), math.Inf(1), int64(1), []string{}, map[string]any{"a": []any{json.Number("1")}}} {
		if IsPlain(v) {
			t.Errorf("IsPlain(%#v) = true", v)
		}
	}
}

func TestMarshalableBesideSkipsOnlyThatMap(t *testing.T) {
	in := map[string]any{"a": 1.0}
	twin := map[string]any{"a": math.NaN()}
	out := MarshalableBeside(map[string]any{"raw": in, "x": []any{twin, math.Inf(1)}}, in).(map[string]any)
	if out["raw"].(map[string]any)["a"] != 1.0 {
		t.Errorf("raw changed: %v", out["raw"])
	}
	x := out["x"].([]any)
	if x[0].(map[string]any)["a"] != nil || x[1] != math.MaxFloat64 {
		t.Errorf("a NaN or Inf beside the input was left: %v", x)
	}
}
