package jsonvalue

import (
	"math"
	"reflect"
)

// Marshalable returns v with the floats JSON cannot carry replaced the way
// jq prints them: NaN as null, ±Inf as ±math.MaxFloat64. v is a gojq output
// and may share maps with the input or with constants of the compiled
// program, so changed containers are copied, never written to.
func Marshalable(v any) any {
	out, _ := marshalable(v, nil)
	return out
}

// MarshalableBeside is Marshalable for an output that may contain the
// (plain, so NaN-free) input map in: that map is not walked again. gojq
// passes the input through as is (`raw: .`), so this skips most of the walk.
func MarshalableBeside(v any, in map[string]any) any {
	out, _ := marshalable(v, in)
	return out
}

// marshalable returns the fixed value and whether it differs from v; a map
// that is skip itself is left as it is.
func marshalable(v any, skip map[string]any) (any, bool) {
	// Unchanged values are returned as the original v, never re-boxed.
	switch t := v.(type) {
	case float64:
		switch {
		case math.IsNaN(t):
			return nil, true
		case math.IsInf(t, 1):
			return math.MaxFloat64, true
		case math.IsInf(t, -1):
			return -math.MaxFloat64, true
		}
		return v, false
	case []any:
		var out []any
		for i, e := range t {
			f, changed := marshalable(e, skip)
			if changed && out == nil {
				out = append(make([]any, 0, len(t)), t...)
			}
			if out != nil {
				out[i] = f
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case map[string]any:
		if skip != nil && sameMap(t, skip) {
			return v, false
		}
		var out map[string]any
		for k, e := range t {
			f, changed := marshalable(e, skip)
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, e2 := range t {
					out[k2] = e2
				}
			}
			out[k] = f
		}
		if out == nil {
			return v, false
		}
		return out, true
	default:
		return v, false
	}
}

// sameMap reports whether a and b are the same map (not equal ones).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
