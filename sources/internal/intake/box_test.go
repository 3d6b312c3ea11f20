package intake

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
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

// Every string in the interning table is boxed as itself, from the table.
func TestInternedStrings(t *testing.T) {
	var b boxes
	for s := range interned {
		if len(s) > maxInterned {
			t.Errorf("%q is longer than maxInterned: never looked up", s)
		}
		if v := b.str(s); v != s {
			t.Errorf("str(%q) = %#v", s, v)
		}
	}
	if len(b.strs) != 0 {
		t.Errorf("%d interned strings took slab slots", len(b.strs))
	}
}

// A string boxed from a slab is the string any(s) would be, for every use
// of an `any`: type switches, ==, map keys, reflection, fmt. It stays so
// after the decoder has moved on to other slabs and the collector has run.
func TestSlabBoxesAreStrings(t *testing.T) {
	var b boxes
	var want []string
	var got []any
	for i := range 3*stringSlab + 5 {
		s := fmt.Sprintf("id-%d-%s", i, strings.Repeat("x", i))
		want, got = append(want, s), append(got, b.str(s))
	}
	byValue := map[any]int{}
	for i, v := range got {
		byValue[v] = i
	}
	runtime.GC()
	_ = make([]byte, 1<<20) // reuse freed memory, if any was wrongly freed
	runtime.GC()
	for i, v := range got {
		s, ok := v.(string)
		if !ok || s != want[i] || v != any(want[i]) || byValue[any(want[i])] != i ||
			reflect.ValueOf(v).String() != want[i] || fmt.Sprint(v) != want[i] {
			t.Fatalf("box %d = %#v, want %q", i, v, want[i])
		}
	}
}

// Boxing strings from slabs costs one allocation per stringSlab strings.
func TestSlabBoxesAllocateOncePerSlab(t *testing.T) {
	strs := make([]string, stringSlab)
	for i := range strs {
		strs[i] = fmt.Sprintf("not-interned-%d", i)
	}
	var sink any
	allocs := testing.AllocsPerRun(100, func() {
		var b boxes
		for _, s := range strs {
			sink = b.str(s)
		}
	})
	_ = sink
	if allocs != 1 {
		t.Errorf("%d strings boxed in %v allocations, want 1", len(strs), allocs)
	}
}
