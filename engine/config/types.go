package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Position is a place in a pipeline file. Line and Col are 1-based.
type Position struct {
	File string
	Line int
	Col  int
}

// String formats the position as FILE:LINE:COL, or FILE alone when there is
// no line (an error reading the file or directory itself).
func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// NodePos is the position of n in file.
func NodePos(file string, n *yaml.Node) Position {
	if n == nil {
		return Position{File: file, Line: 1, Col: 1}
	}
	return Position{File: file, Line: n.Line, Col: n.Column}
}

// Error is a configuration error at a position. Its text is
// "FILE:LINE:COL: message"; the message never contains a secret's value.
type Error struct {
	Pos Position
	Msg string
	// Err is the underlying cause when there is one (an I/O error).
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error at pos.
func Errorf(pos Position, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Errors is every error found in a load; validate reports them all.
type Errors []*Error

// Error joins the errors, one per line, in file order. It sorts a copy, so
// it is safe to call concurrently.
func (es Errors) Error() string {
	sorted := slices.Clone(es)
	sorted.Sort()
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each error to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Sort orders errors by file, line and column.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Add appends an error at pos.
func (es *Errors) Add(pos Position, format string, args ...any) {
	*es = append(*es, Errorf(pos, format, args...))
}

// Err returns es as an error, or nil if it is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// FieldError is a component's validation error about one of its fields,
// named by the field's dotted YAML path relative to the component
// ("retry.max_attempts", "signature.key"). The engine turns it into an
// *Error at that field's position.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrorf makes a *FieldError.
func FieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Positions records where each decoded field was written, by dotted path
// relative to the decoded node ("" is the node itself).
type Positions map[string]Position

// Of returns the position of path, or of its nearest written parent.
func (ps Positions) Of(path string) Position {
	for {
		if p, ok := ps[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return ps[""]
		}
		path = path[:i]
	}
}

// Resolve turns err from a component's constructor into Errors with
// positions: FieldErrors at their field, *Error and Errors unchanged, and
// anything else at the component itself.
func (ps Positions) Resolve(err error) Errors {
	if err == nil {
		return nil
	}
	var out Errors
	for _, e := range flatten(err) {
		var fe *FieldError
		var ce *Error
		var es Errors
		switch {
		case errors.As(e, &es):
			out = append(out, es...)
		case errors.As(e, &ce):
			out = append(out, ce)
		case errors.As(e, &fe):
			out = append(out, &Error{Pos: ps.Of(fe.Field), Msg: fe.Field + ": " + fe.Msg})
		default:
			out = append(out, &Error{Pos: ps[""], Msg: e.Error()})
		}
	}
	return out
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Duration is a time.Duration written as a Go duration string ("30s",
// "1h30m") or a bare number of seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML accepts "30s" or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration (e.g. 30s, 5m, 1h), got %s", describe(n))
	}
	v, err := ParseDuration(n.Value, time.Second)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a Go duration, or a bare number in units of unit.
func ParseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, fmt.Errorf("%q is not a duration (use e.g. 30s, 5m, 1h)", s)
		}
		d = time.Duration(f * float64(unit))
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}

// Secret is a string that never shows its value when printed, logged or
// marshalled. Use Reveal to get it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String redacts the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the value in %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON redacts the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// LogValue redacts the value in slog.
func (s Secret) LogValue() any { return s.String() }

// Text is a string that remembers where it was written, so errors found in
// it (a jq or expr syntax error at some offset) can point into the file.
type Text struct {
	Value string
	Pos   Position // position of the scalar node
	Style yaml.Style
	// Indent is the column (1-based) where a block scalar's content starts.
	Indent int
}

// PosAt maps a byte offset in Value to a file position. It is exact for
// literal block scalars (with Indent set, as Decode sets it for nodes from
// Load) and for single-line plain and quoted scalars, where an escaped
// character maps to the start of its escape; other escapes (\t, \u00e9),
// folded and multi-line flow scalars, and values changed by interpolation
// come out close. Columns count characters, as yaml.v3's do.
func (t Text) PosAt(offset int) Position {
	if offset < 0 {
		offset = 0
	}
	if offset > len(t.Value) {
		offset = len(t.Value)
	}
	before := t.Value[:offset]
	nl := strings.Count(before, "\n")
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	p := t.Pos
	switch {
	case t.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		indent := t.Indent
		if indent == 0 {
			indent = p.Col + 2
		}
		return Position{File: p.File, Line: p.Line + 1 + nl, Col: indent + col}
	case t.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if nl == 0 {
			return Position{File: p.File, Line: p.Line, Col: p.Col + 1 + col + escapes(t.Style, before)}
		}
		return Position{File: p.File, Line: p.Line + nl, Col: col + 1}
	default:
		if nl == 0 {
			return Position{File: p.File, Line: p.Line, Col: p.Col + col}
		}
		return Position{File: p.File, Line: p.Line + nl, Col: col + 1}
	}
}

// escapes counts the characters in before that a quoted scalar must have
// written as two: a single quote inside single quotes, a double quote or a
// backslash inside double quotes.
func escapes(style yaml.Style, before string) int {
	if style&yaml.SingleQuotedStyle != 0 {
		return strings.Count(before, "'")
	}
	return strings.Count(before, `"`) + strings.Count(before, `\`)
}

// Pipeline is one pipeline as written in a file, before its components are
// built.
type Pipeline struct {
	Name        string
	NamePos     Position // the name's value
	Description string
	Pos         Position // the pipeline's mapping
	File        string
	// Source and Sink are exactly one component each; Transforms in order.
	Source     Component
	Transforms []Component
	Sink       Component
	// Hash identifies the pipeline's effective config (after interpolation
	// and merge keys; the engine adds referenced files such as jq_file).
	// Reload leaves a pipeline alone while its hash is unchanged.
	Hash string
}

// Component is one source, transform or sink: `kind: {options}`.
type Component struct {
	Kind string   // registered name, e.g. "intercom_poller"
	Pos  Position // position of the kind key
	// Node is the options node, variables interpolated and aliases and
	// merge keys resolved; a null scalar when nothing was written. Decode
	// it with Decode.
	Node *yaml.Node
}

// Shorthand is implemented by options structs that may be written as one
// scalar: `jq: '.foo'` means `jq: {program: '.foo'}` when the jq options
// struct's ShorthandField returns "program". Decode treats a scalar node as a
// one-key mapping of that field, keeping the scalar's position.
type Shorthand interface {
	ShorthandField() string
}
