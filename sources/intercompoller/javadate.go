package intercompoller

import (
	"fmt"
	"strings"
)

// javaLayout translates a Java SimpleDateFormat pattern (SAP Open
// Connectors' updatedDateFormat/createdDateFormat and URL placeholders)
// into a Go time layout.
//
// Supported letters: y, M/L (number, MMM short and MMMM long names), d, H,
// h, m, s, S (fraction of a second after '.' or ','), a, E (EEE short and
// EEEE long names), z (zone abbreviation), Z (-0800), X/XX/XXX (-08, -0800,
// -08:00, or Z for UTC); 'quoted' text and ” for a quote. forParse makes
// fractions lenient (any number of digits, or none); otherwise they are
// printed with exactly as many digits as S letters. Unlike Java, S is a
// fraction, not a millisecond count, so "ss.SSSSSS" reads microseconds.
// Patterns Go cannot express (k, K, D, w, u, a fraction without a
// separator, literal text that Go would read as a field) are errors.
func javaLayout(pattern string, forParse bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '\'' {
			lit, next, err := quoted(pattern, i)
			if err != nil {
				return "", err
			}
			if err := safeLiteral(lit); err != nil {
				return "", err
			}
			b.WriteString(lit)
			i = next
			continue
		}
		if !isLetter(c) {
			if err := safeLiteral(string(c)); err != nil {
				return "", err
			}
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(pattern) && pattern[i+n] == c {
			n++
		}
		field, err := javaField(c, n, b.String(), forParse)
		if err != nil {
			return "", fmt.Errorf("date format %q: %w", pattern, err)
		}
		b.WriteString(field)
		i += n
	}
	return b.String(), nil
}

// javaField is the Go layout for n repetitions of the pattern letter c;
// before is the layout so far (a fraction needs a separator before it).
func javaField(c byte, n int, before string, forParse bool) (string, error) {
	switch c {
	case 'y':
		if n == 2 {
			return "06", nil
		}
		return "2006", nil
	case 'M', 'L':
		switch {
		case n == 1:
			return "1", nil
		case n == 2:
			return "01", nil
		case n == 3:
			return "Jan", nil
		}
		return "January", nil
	case 'd':
		return pad(n, "2", "02"), nil
	case 'H':
		return "15", nil // Go reads one or two digits and prints two
	case 'h':
		return pad(n, "3", "03"), nil
	case 'm':
		return pad(n, "4", "04"), nil
	case 's':
		return pad(n, "5", "05"), nil
	case 'S':
		if !strings.HasSuffix(before, ".") && !strings.HasSuffix(before, ",") {
			return "", fmt.Errorf("fraction of a second (S) must follow '.' or ','")
		}
		if forParse {
			return strings.Repeat("9", n), nil
		}
		return strings.Repeat("0", n), nil
	case 'a':
		return "PM", nil
	case 'E':
		if n >= 4 {
			return "Monday", nil
		}
		return "Mon", nil
	case 'z':
		return "MST", nil
	case 'Z':
		return "-0700", nil
	case 'X':
		switch n {
		case 1:
			return "Z07", nil
		case 2:
			return "Z0700", nil
		}
		return "Z07:00", nil
	}
	return "", fmt.Errorf("pattern letter %q is not supported", string(c))
}

func pad(n int, short, long string) string {
	if n >= 2 {
		return long
	}
	return short
}

// quoted reads the 'text' starting at pattern[i] (” inside is a quote, and
// ” alone is a quote).
func quoted(pattern string, i int) (lit string, next int, err error) {
	if strings.HasPrefix(pattern[i:], "''") {
		return "'", i + 2, nil
	}
	var b strings.Builder
	for j := i + 1; j < len(pattern); j++ {
		if pattern[j] != '\'' {
			b.WriteByte(pattern[j])
			continue
		}
		if j+1 < len(pattern) && pattern[j+1] == '\'' {
			b.WriteByte('\'')
			j++
			continue
		}
		return b.String(), j + 1, nil
	}
	return "", 0, fmt.Errorf("date format %q: unterminated quote", pattern)
}

// safeLiteral rejects literal text that Go's layout parser would read as a
// field (digits, month and day names, "MST", "PM", "_2").
func safeLiteral(s string) error {
	for _, bad := range []string{"Jan", "Mon", "MST", "PM", "pm", "_"} {
		if strings.Contains(s, bad) {
			return fmt.Errorf("literal %q in a date format is not supported", s)
		}
	}
	for _, c := range []byte(s) {
		if c >= '0' && c <= '9' {
			return fmt.Errorf("literal %q in a date format is not supported", s)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
