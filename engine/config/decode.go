package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DecodeOption adjusts Decode.
type DecodeOption func(*decoder)

// Within names what is being decoded, for messages: with Within("http
// options") an unknown key reads `unknown field "retyr" in http options; did
// you mean "retry"?`.
func Within(what string) DecodeOption { return func(d *decoder) { d.within = what } }

// Decode decodes the options node n (written in file) strictly into out, a
// pointer to a struct with yaml tags: unknown keys are errors with a "did you
// mean" suggestion, type mismatches are errors at the value, and every error
// is collected rather than only the first. It returns where each field was
// written so later validation errors (FieldError) can point at them.
//
// Out's fields keep their values (the constructor's defaults) unless the node
// sets them; a null or empty node sets nothing. Aliases and merge keys are
// resolved. Positions has "" for n itself, "a.b" for the key b inside a, and
// "a.0" for the first item of the list a (map entries use their key). Values
// that came from the environment, and config.Secret fields, are never shown
// in errors.
func Decode(file string, n *yaml.Node, out any, opts ...DecodeOption) (Positions, Errors) {
	d := &decoder{file: file, ps: Positions{"": NodePos(file, n)}}
	for _, opt := range opts {
		opt(d)
	}
	v := reflect.ValueOf(out)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		d.errs.Add(NodePos(file, n), "cannot decode into %T: need a non-nil pointer", out)
		return d.ps, d.errs
	}
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return d.ps, nil
		}
		n = n.Content[0]
	}
	n = newResolver(file, &d.errs).resolve(n)
	d.value("", n, v.Elem())
	d.errs.Sort()
	return d.ps, d.errs
}

type decoder struct {
	file   string
	within string
	ps     Positions
	errs   Errors
}

var (
	textType      = reflect.TypeFor[Text]()
	secretType    = reflect.TypeFor[Secret]()
	durationType  = reflect.TypeFor[Duration]()
	nodeType      = reflect.TypeFor[yaml.Node]()
	shorthandType = reflect.TypeFor[Shorthand]()
	unmarshalType = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value decodes n into v, which is settable.
func (d *decoder) value(path string, n *yaml.Node, v reflect.Value) {
	if n == nil || isNull(n) {
		return
	}
	switch t := v.Type(); {
	case t == textType:
		d.text(path, n, v)
		return
	case t == durationType:
		d.duration(path, n, v)
		return
	case t == nodeType:
		v.Set(reflect.ValueOf(*n))
		return
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(path, n, v.Elem())
		return
	case reflect.PointerTo(t).Implements(unmarshalType):
		d.unmarshaler(path, n, v.Addr().Interface().(yaml.Unmarshaler))
		return
	case reflect.PointerTo(t).Implements(textUnmarshal) && n.Kind == yaml.ScalarNode:
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(path, n, "%s", d.hideEnv(n, err.Error()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(path, n, v)
	case reflect.Map:
		d.mapping(path, n, v)
	case reflect.Slice:
		d.slice(path, n, v)
	case reflect.Interface:
		if v.NumMethod() != 0 {
			d.fail(path, n, "cannot decode into %s", v.Type())
			return
		}
		if g := d.generic(path, n); g != nil {
			v.Set(reflect.ValueOf(g))
		}
	default:
		d.scalar(path, n, v)
	}
}

func (d *decoder) text(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "expected a string, got %s", describe(n))
		return
	}
	t := Text{Value: n.Value, Pos: NodePos(d.file, n), Style: n.Style}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		t.Indent = noteOf(n).indent
	}
	v.Set(reflect.ValueOf(t))
}

// duration decodes a Duration, with the error phrased like the others so
// that a value from the environment is hidden the same way.
func (d *decoder) duration(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "expected a duration (e.g. 30s, 5m, 1h), got %s", describe(n))
		return
	}
	dur, err := ParseDuration(n.Value, time.Second)
	if err != nil {
		if abs, neg := strings.CutPrefix(strings.TrimSpace(n.Value), "-"); neg && validDuration(abs) {
			d.fail(path, n, "duration must not be negative")
		} else {
			d.fail(path, n, "expected a duration (e.g. 30s, 5m, 1h), got %s", d.shown(n, v.Type()))
		}
		return
	}
	v.SetInt(int64(dur))
}

func validDuration(s string) bool {
	_, err := ParseDuration(s, time.Second)
	return err == nil
}

func (d *decoder) unmarshaler(path string, n *yaml.Node, u yaml.Unmarshaler) {
	if err := u.UnmarshalYAML(n); err != nil {
		d.fail(path, n, "%s", d.hideEnv(n, err.Error()))
	}
}

// structure decodes a mapping (or a Shorthand scalar) into a struct.
func (d *decoder) structure(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.ScalarNode && reflect.PointerTo(v.Type()).Implements(shorthandType) {
		field := v.Addr().Interface().(Shorthand).ShorthandField()
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: field, Line: n.Line, Column: n.Column}
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: []*yaml.Node{key, n}}
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "expected a mapping, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	d.entries(path, n, func(sub string, k, val *yaml.Node) {
		index, ok := fields.index[k.Value]
		if !ok {
			d.errs.Add(NodePos(d.file, k), "%s", unknownKey("field", k.Value, path, d.within, fields.names))
			return
		}
		d.value(sub, val, v.FieldByIndex(index))
	})
}

// mapping decodes a mapping into a map with string keys, keeping entries
// the map already has (defaults) unless the node overrides them.
func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(path, n, "cannot decode into %s: map keys must be strings", t)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "expected a mapping, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	d.entries(path, n, func(sub string, k, val *yaml.Node) {
		elem := reflect.New(t.Elem()).Elem()
		d.value(sub, val, elem)
		v.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), elem)
	})
}

// entries calls fn for each key of a mapping, after recording the key's
// position and rejecting keys that are not strings or appear twice.
func (d *decoder) entries(path string, n *yaml.Node, fn func(sub string, k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errs.Add(NodePos(d.file, k), "keys must be strings, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errs.Add(NodePos(d.file, k), "duplicate key %q (first defined at %s)", k.Value, NodePos(d.file, first))
			continue
		}
		seen[k.Value] = k
		sub := joinPath(path, k.Value)
		d.ps[sub] = NodePos(d.file, k)
		fn(sub, k, val)
	}
}

// slice decodes a list, replacing any default.
func (d *decoder) slice(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		sub := joinPath(path, strconv.Itoa(i))
		d.ps[sub] = NodePos(d.file, item)
		d.value(sub, item, s.Index(i))
	}
	v.Set(s)
}

// generic decodes n as JSON-like Go values: map[string]any, []any, string,
// bool, int, float64 and nil. Timestamps and custom tags stay strings.
func (d *decoder) generic(path string, n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		d.entries(path, n, func(sub string, k, val *yaml.Node) { m[k.Value] = d.generic(sub, val) })
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			sub := joinPath(path, strconv.Itoa(i))
			d.ps[sub] = NodePos(d.file, item)
			s[i] = d.generic(sub, item)
		}
		return s
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var x any
		if err := n.Decode(&x); err == nil {
			return x
		}
	}
	return n.Value
}

// fail records an error about the value n at path.
func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = fmt.Sprintf("field %q: %s", path, msg)
	}
	d.errs.Add(NodePos(d.file, n), "%s", msg)
}

func joinPath(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
