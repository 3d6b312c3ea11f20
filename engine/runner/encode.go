package runner

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errSlowPath says appendJSON met a value it leaves to encoding/json.
var errSlowPath = errors.New("runner: value needs encoding/json")

// appendJSON appends v as encoding/json with SetEscapeHTML(false) writes
// it, byte for byte, for the types decoded JSON and transform outputs are
// made of: nil, bool, string, float64, int, json.Number, []any and
// map[string]any (keys sorted). Anything else, and what encoding/json
// would refuse (NaN, an invalid json.Number), returns errSlowPath, and the
// caller encodes the whole value with encoding/json. It exists because
// encoding the envelope by reflection, sorting map keys through
// reflect.Value, cost more CPU per event than the jq program.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case string:
		return appendString(b, t), nil
	case float64:
		return appendFloat(b, t)
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case json.Number:
		if t == "" {
			return append(b, '0'), nil
		}
		if !validNumber(string(t)) {
			return b, errSlowPath
		}
		return append(b, t...), nil
	case []any:
		if t == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		if t == nil {
			return append(b, "null"...), nil
		}
		return appendObject(b, t)
	}
	return b, errSlowPath
}

// member is one key and value of an object being encoded.
type member struct {
	key   string
	value any
}

// appendObject writes m's members in key order. The members are taken in
// one walk of the map and sorted as pairs: sorting the keys alone cost a
// second map lookup per member.
func appendObject(b []byte, m map[string]any) ([]byte, error) {
	var small [16]member
	ms := small[:0]
	for k, v := range m {
		ms = append(ms, member{k, v})
	}
	sortMembers(ms)
	b = append(b, '{')
	for i, kv := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, kv.key)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, kv.value); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// sortMembers sorts by key: insertion sort for the few members of most
// objects, the library's sort beyond.
func sortMembers(ms []member) {
	if len(ms) > 12 {
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].key < ms[j-1].key; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// appendFloat is encoding/json's float64 format: like %g but with the
// exponent cut-offs of ES6 and unpadded exponents.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errSlowPath
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// plainASCII says which bytes appendString copies as they are: printable
// ASCII but the quote and the backslash (one lookup instead of four
// comparisons per byte).
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString quotes s as encoding/json does without HTML escaping:
// quotes, backslashes and control bytes escaped, invalid UTF-8 as U+FFFD,
// U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// validNumber reports whether s is a JSON number (encoding/json refuses a
// json.Number that is not).
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}
