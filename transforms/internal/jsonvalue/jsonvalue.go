// Package jsonvalue normalises decoded JSON values at the boundary between
// the engine and the jq and expr interpreters.
//
// Sources hand transforms "any JSON-compatible Go value", but interpreters
// are pickier: gojq panics on a type outside its small set (an int64, a
// map[string]string, even engine.Meta), expr compares json.Number as a
// string, and encoding/json refuses NaN. Each function here returns its input
// unchanged when it already fits, so the common case costs one read-only walk
// and no allocation; only values that need it are copied, never mutated, since
// a value may be shared by concurrent pipelines.
package jsonvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
)

// ForJQ returns v using only the types gojq accepts: nil, bool, int,
// float64, *big.Int, json.Number, string, []any and map[string]any.
func ForJQ(v any) (any, error) {
	out, _, err := normalize(v, true)
	return out, err
}

// ForExpr is ForJQ with json.Number turned into int (when integral and in
// range) or float64, so that expr compares numbers as numbers.
func ForExpr(v any) (any, error) {
	out, _, err := normalize(v, false)
	return out, err
}

// normalize returns v in the accepted types and whether that differs from
// v. It copies on write: a map or slice is copied only if something inside
// it changed, so untouched subtrees stay shared and a value that already
// fits costs one walk and no allocation. keepNumber says whether json.Number
// is acceptable.
func normalize(v any, keepNumber bool) (any, bool, error) {
	// Unchanged values are returned as the original v: re-boxing a typed
	// []any or json.Number would allocate on every call.
	switch t := v.(type) {
	case nil, bool, int, float64, *big.Int, string:
		return v, false, nil
	case json.Number:
		if keepNumber {
			return v, false, nil
		}
		n, err := numberValue(t)
		return n, true, err
	case []any:
		var out []any
		for i, e := range t {
			c, changed, err := normalize(e, keepNumber)
			if err != nil {
				return nil, false, fmt.Errorf("[%d]: %w", i, err)
			}
			if changed && out == nil {
				out = append(make([]any, 0, len(t)), t...)
			}
			if out != nil {
				out[i] = c
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case map[string]any:
		var out map[string]any
		for k, e := range t {
			c, changed, err := normalize(e, keepNumber)
			if err != nil {
				return nil, false, fmt.Errorf(".%s: %w", k, err)
			}
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, e2 := range t {
					out[k2] = e2
				}
			}
			out[k] = c
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	}
	out, err := convert(v, keepNumber)
	return out, true, err
}

// convert handles the Go types JSON decoding never produces. Maps, slices
// and numbers of any Go type are converted by reflection; anything else
// (structs, time.Time, json.Marshaler) goes through a JSON round trip, which
// is what it would become on the wire anyway.
func convert(v any, keepNumber bool) (any, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intValue(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return intValue(int64(u)), nil
		}
		return new(big.Int).SetUint64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[it.Key().String()] = it.Value().Interface()
			}
			out, _, err := normalize(m, keepNumber)
			return out, err
		}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() != reflect.Uint8 { // []byte marshals as base64
			s := make([]any, rv.Len())
			for i := range s {
				s[i] = rv.Index(i).Interface()
			}
			out, _, err := normalize(s, keepNumber)
			return out, err
		}
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
	}
	return roundTrip(v, keepNumber)
}

func roundTrip(v any, keepNumber bool) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T is not JSON: %w", v, err)
	}
	var out any
	if err := Unmarshal(b, &out); err != nil {
		return nil, err
	}
	out, _, err = normalize(out, keepNumber)
	return out, err
}

// Unmarshal decodes JSON keeping numbers exact as json.Number, as sources
// are expected to.
func Unmarshal(b []byte, out *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	return nil
}

// intValue keeps int where it is exact; int is 64-bit on every platform
// connectord ships for, but the check keeps 32-bit builds correct.
func intValue(i int64) any {
	if int64(int(i)) == i {
		return int(i)
	}
	return new(big.Int).SetInt64(i)
}

func numberValue(n json.Number) (any, error) {
	if i, err := n.Int64(); err == nil {
		return intValue(i), nil
	}
	f, err := n.Float64()
	if err != nil {
		return nil, fmt.Errorf("invalid number %q: %w", string(n), err)
	}
	return f, nil
}

// IsPlain reports whether v holds only nil, bool, int, finite float64,
// *big.Int, string, []any and map[string]any: what engine.Event.Plain
// promises.
func IsPlain(v any) bool {
	switch t := v.(type) {
	case nil, bool, int, *big.Int, string:
		return true
	case float64:
		return !math.IsNaN(t) && !math.IsInf(t, 0)
	case []any:
		for _, e := range t {
			if !IsPlain(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range t {
			if !IsPlain(e) {
				return false
			}
		}
		return true
	}
	return false
}
