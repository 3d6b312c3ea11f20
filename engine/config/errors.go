package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

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

// Error joins the errors, one per line, in file order, each distinct line
// once (see Unique). It sorts a copy, so it is safe to call concurrently.
func (es Errors) Error() string {
	u := es.Unique()
	lines := make([]string, len(u))
	for i, e := range u {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unique returns a sorted copy of es with repeats of the same message at
// the same position left out. A mistake inside a YAML anchor is decoded
// once for each alias that uses it (every pipeline sharing `http:
// *callback`), yet it is one mistake, written once.
func (es Errors) Unique() Errors {
	sorted := slices.Clone(es)
	sorted.Sort()
	out := sorted[:0]
	seen := make(map[string]bool, len(sorted))
	for _, e := range sorted {
		line := e.Error()
		if seen[line] {
			continue
		}
		seen[line] = true
		out = append(out, e)
	}
	return out
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
