package intake

import (
	"encoding/json"
	"slices"
)

// refDuplicateKey is the reference FuzzDecodeJSON checks DecodeJSON's
// repeated keys against (it was DecodeJSON's own check, a second pass,
// before the one-pass decoder). It returns the first object key that
// appears twice in one object of body, which must be valid JSON.
func refDuplicateKey(body []byte) (string, bool) {
	type frame struct {
		object bool
		keys   []string
		seen   map[string]struct{} // once an object has many keys
	}
	var stack []frame
	expectKey := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '{':
			stack = append(stack, frame{object: true})
			expectKey = true
		case '[':
			stack = append(stack, frame{})
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
		case ':':
			expectKey = false
		case '"':
			start, escaped := i, false
			for i++; body[i] != '"'; i++ {
				if body[i] == '\\' {
					escaped = true
					i++
				}
			}
			if !expectKey {
				continue
			}
			key := string(body[start+1 : i])
			if escaped {
				var s string
				_ = json.Unmarshal(body[start:i+1], &s) // valid JSON: cannot fail
				key = s
			}
			f := &stack[len(stack)-1]
			if f.seen != nil {
				if _, dup := f.seen[key]; dup {
					return key, true
				}
				f.seen[key] = struct{}{}
			} else if slices.Contains(f.keys, key) {
				return key, true
			} else if f.keys = append(f.keys, key); len(f.keys) > 16 {
				f.seen = make(map[string]struct{}, 32)
				for _, k := range f.keys {
					f.seen[k] = struct{}{}
				}
			}
			expectKey = false
		}
	}
	return "", false
}
