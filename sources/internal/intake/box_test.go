package intake

import (
	"math"
	"testing"
)

// Shared boxes hold the value a fresh one would, and -0, which encodes as
// "-0", keeps its sign.
func TestSharedBoxesKeepValues(t *testing.T) {
	for _, f := range []float64{0, 1, 255, 256, 1.5, -1, 1719492795, math.Copysign(0, -1)} {
		got, ok := boxNumber(f).(float64)
		if !ok || got != f || math.Signbit(got) != math.Signbit(f) {
			t.Errorf("boxNumber(%v) = %#v", f, boxNumber(f))
		}
	}
	v, err := DecodeJSON([]byte(`[-0, 0, "conversation", "conversation_x", [], {}]`))
	if err != nil {
		t.Fatal(err)
	}
	a := v.([]any)
	if f := a[0].(float64); !math.Signbit(f) {
		t.Error("-0 decoded as 0")
	}
	if a[2] != "conversation" || a[3] != "conversation_x" {
		t.Errorf("strings = %#v, %#v", a[2], a[3])
	}
	if e, ok := a[4].([]any); !ok || e == nil || len(e) != 0 || cap(e) != 0 {
		t.Errorf("[] = %#v: want an empty, non-nil array no one can write into", a[4])
	}
	if m, ok := a[5].(map[string]any); !ok || m == nil || len(m) != 0 {
		t.Errorf("{} = %#v", a[5])
	}
}

// Every string in the interning table is returned by boxString as itself.
func TestInternedStrings(t *testing.T) {
	for s := range interned {
		if len(s) > maxInterned {
			t.Errorf("%q is longer than maxInterned: never looked up", s)
		}
		if boxString(s) != s {
			t.Errorf("boxString(%q) = %#v", s, boxString(s))
		}
	}
}
