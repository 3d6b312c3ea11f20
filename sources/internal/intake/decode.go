package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeJSON decodes body as exactly one JSON value. Numbers become
// float64, as transforms expect; Intercom sends its large ids as strings, so
// they keep every digit. An object with a repeated key is refused.
//
// The result is what encoding/json.Unmarshal into an `any` gives, value for
// value (FuzzDecodeJSON checks it against encoding/json), from one pass over
// the bytes that also finds repeated keys. It exists because encoding/json
// scans the body twice (validate, then decode), allocates every string, and
// a third pass was needed for repeated keys: together the most expensive
// step of a webhook after the HTTP hops. Strings without escapes are
// substrings of one copy of the body, so they cost no allocation; the copy
// lives as long as any of them does, which is the life of one event.
//
// Values are boxed once where they can be: strings Intercom repeats in
// every notification and small whole numbers come from tables (box.go),
// empty arrays share one value, and the scratch stacks are reused.
func DecodeJSON(body []byte) (any, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.s = string(body)
	d.skipSpace()
	if d.i == len(d.s) {
		return nil, errors.New("invalid JSON: empty body")
	}
	v, err := d.value()
	if err == nil {
		d.skipSpace()
		if d.i != len(d.s) {
			err = errSyntax
		}
	}
	switch {
	case err == nil:
		return v, nil
	case d.dupKey != "":
		return nil, errDuplicateKey(d.dupKey)
	}
	// A malformed body is rare: encoding/json says what is wrong with it,
	// in its familiar words.
	var ref any
	if jerr := json.Unmarshal(body, &ref); jerr != nil {
		err = jerr
	}
	return nil, fmt.Errorf("invalid JSON: %w", err)
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var (
	errSyntax = errors.New("syntax error")
	errDepth  = errors.New("exceeded max depth")
)

// decoder reads one JSON value from s, from offset i.
type decoder struct {
	s      string
	i      int
	depth  int
	dupKey string // set with the error when an object repeats a key
	// members and elems hold the open objects' members and the open
	// arrays' elements, innermost last.
	members []member
	elems   []any
	boxes   boxes // the body's string boxes; every body starts a new slab
}

type member struct {
	key   string
	value any
}

// decoders keep their scratch stacks between requests: grown afresh for
// every body, they were five allocations of each notification.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// release returns d to the pool without what the value it decoded is made
// of, so a pooled decoder holds no body alive.
func (d *decoder) release() {
	if cap(d.members)+cap(d.elems) > maxPooledStack {
		return // a rare huge body's stacks are not kept
	}
	clear(d.members[:cap(d.members)])
	clear(d.elems[:cap(d.elems)])
	d.members, d.elems = d.members[:0], d.elems[:0]
	d.s, d.i, d.depth, d.dupKey = "", 0, 0, ""
	d.boxes = boxes{} // its slab belongs to the decoded value now
	decoders.Put(d)
}

// maxPooledStack bounds the stacks a pooled decoder keeps: far more than
// a notification's members, far less memory than a megabyte body's.
const maxPooledStack = 4096

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads the value at d.i (no leading space).
func (d *decoder) value() (any, error) {
	if d.i >= len(d.s) {
		return nil, errSyntax
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.boxes.str(s), nil
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, errSyntax
}

func (d *decoder) literal(word string) error {
	if len(d.s)-d.i < len(word) || d.s[d.i:d.i+len(word)] != word {
		return errSyntax
	}
	d.i += len(word)
	return nil
}

func (d *decoder) object() (any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, errDepth
	}
	d.i++ // {
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return make(map[string]any), nil
	}
	// The members wait on d.members so the map is made at its final size:
	// growing it member by member was most of the decoder's time.
	base := len(d.members)
	defer func() { d.members = d.members[:base] }()
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, errSyntax
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, errSyntax
		}
		d.i++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member{key, v})
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, errSyntax
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case '}':
			d.i++
			d.depth--
			members := d.members[base:]
			m := make(map[string]any, len(members))
			for _, kv := range members {
				m[kv.key] = kv.value
			}
			if len(m) != len(members) {
				// encoding/json would let the last one win, so a signed
				// body could say two things to two readers; Intercom never
				// sends one.
				d.dupKey = firstRepeated(members)
				return nil, errSyntax
			}
			return m, nil
		default:
			return nil, errSyntax
		}
	}
}

// firstRepeated is the first key of members that an earlier one has.
func firstRepeated(members []member) string {
	seen := make(map[string]bool, len(members))
	for _, kv := range members {
		if seen[kv.key] {
			return kv.key
		}
		seen[kv.key] = true
	}
	return ""
}

func (d *decoder) array() (any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, errDepth
	}
	d.i++ // [
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return emptyArray, nil
	}
	base := len(d.elems)
	defer func() { d.elems = d.elems[:base] }()
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, errSyntax
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case ']':
			d.i++
			d.depth--
			return append(make([]any, 0, len(d.elems)-base), d.elems[base:]...), nil
		default:
			return nil, errSyntax
		}
	}
}

// number reads a number as JSON's grammar has it, then converts it as
// encoding/json does (a number out of float64's range is an error).
func (d *decoder) number() (any, error) {
	s, start := d.s, d.i
	i := start
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
	default:
		return nil, errSyntax
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return nil, errSyntax
		}
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return nil, errSyntax
		}
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
	}
	d.i = i
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		return nil, fmt.Errorf("number %s out of range", s[start:i])
	}
	return boxNumber(f), nil
}

// str reads a string at d.i (its opening quote). One without escapes and
// with valid UTF-8 is a substring of the body; any other is rebuilt as
// encoding/json's unquote does (invalid UTF-8 and lone surrogates become
// U+FFFD).
func (d *decoder) str() (string, error) {
	s := d.s
	start := d.i + 1
	for i := start; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return d.unquote(start, i)
		case c < ' ':
			return "", errSyntax
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return d.unquote(start, i)
			}
			i += size
		}
	}
	return "", errSyntax
}

// unquote finishes the string that started at start, copying it from i on,
// where the first escape or invalid byte is. A strings.Builder makes the
// string in one allocation, where a []byte and its conversion took two.
func (d *decoder) unquote(start, i int) (string, error) {
	s := d.s
	var b strings.Builder
	b.Grow(escapedLen(s, i) - start + 8)
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return b.String(), nil
		case c < ' ':
			return "", errSyntax
		case c == '\\':
			if i+1 >= len(s) {
				return "", errSyntax
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r := hex4(s, i+2)
				if r < 0 {
					return "", errSyntax
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2 := escapedHex4(s, i); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
							b.WriteRune(dec)
							i += 6
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				b.WriteRune(r)
				continue
			default:
				return "", errSyntax
			}
			i += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r) // RuneError for an invalid byte
			i += size
		}
	}
	return "", errSyntax
}

// escapedLen is the offset of the quote that ends the string s[i:] is in,
// or len(s): unescaping never makes a string longer than it is in JSON
// but for a few bytes of U+FFFD, so a buffer of this size seldom grows.
func escapedLen(s string, i int) int {
	for i < len(s) && s[i] != '"' {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	return min(i, len(s))
}

// escapedHex4 is the rune of a \uXXXX escape at s[i:], or -1.
func escapedHex4(s string, i int) rune {
	if i+1 >= len(s) || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	return hex4(s, i+2)
}

// hex4 is the value of the four hex digits at s[i:], or -1.
func hex4(s string, i int) rune {
	if i+4 > len(s) {
		return -1
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// errDuplicateKey is the 400 message for a body with a repeated key.
func errDuplicateKey(key string) error {
	return fmt.Errorf("invalid JSON: duplicate key %q in one object (the body would mean two things)", key)
}
