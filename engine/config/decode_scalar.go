package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scalar decodes n into a string, bool, integer or float. Conversions are
// strict: a quoted "15" is a string, not an integer.
func (d *decoder) scalar(path string, n *yaml.Node, v reflect.Value) {
	kind := v.Kind()
	want, ok := scalarWants[kind]
	if !ok {
		d.fail(path, n, "cannot decode into %s", v.Type())
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "expected %s, got %s", want, describe(n))
		return
	}
	tag := n.ShortTag()
	switch kind {
	case reflect.String:
		v.SetString(n.Value)
		return
	case reflect.Bool:
		var b bool
		if tag == "!!bool" && n.Decode(&b) == nil {
			v.SetBool(b)
			return
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if tag == "!!int" && n.Decode(&i) == nil {
			if v.OverflowInt(i) {
				d.fail(path, n, "integer out of range for %s", v.Type())
				return
			}
			v.SetInt(i)
			return
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		if tag == "!!int" && n.Decode(&u) == nil {
			if v.OverflowUint(u) {
				d.fail(path, n, "integer out of range for %s", v.Type())
				return
			}
			v.SetUint(u)
			return
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		if (tag == "!!int" || tag == "!!float") && n.Decode(&f) == nil {
			if v.OverflowFloat(f) {
				d.fail(path, n, "number out of range for %s", v.Type())
				return
			}
			v.SetFloat(f)
			return
		}
	}
	d.fail(path, n, "expected %s, got %s%s", want, d.shown(n, v.Type()), quotesHint(n, tagWants[kind]))
}

var scalarWants = map[reflect.Kind]string{
	reflect.String: "a string", reflect.Bool: "a boolean (true or false)",
	reflect.Int: "an integer", reflect.Int8: "an integer", reflect.Int16: "an integer",
	reflect.Int32: "an integer", reflect.Int64: "an integer",
	reflect.Uint: "a non-negative integer", reflect.Uint8: "a non-negative integer",
	reflect.Uint16: "a non-negative integer", reflect.Uint32: "a non-negative integer",
	reflect.Uint64: "a non-negative integer", reflect.Uintptr: "a non-negative integer",
	reflect.Float32: "a number", reflect.Float64: "a number",
}

var tagWants = map[reflect.Kind][]string{
	reflect.Bool: {"!!bool"},
	reflect.Int:  {"!!int"}, reflect.Int8: {"!!int"}, reflect.Int16: {"!!int"},
	reflect.Int32: {"!!int"}, reflect.Int64: {"!!int"},
	reflect.Uint: {"!!int"}, reflect.Uint8: {"!!int"}, reflect.Uint16: {"!!int"},
	reflect.Uint32: {"!!int"}, reflect.Uint64: {"!!int"}, reflect.Uintptr: {"!!int"},
	reflect.Float32: {"!!int", "!!float"}, reflect.Float64: {"!!int", "!!float"},
}

// quotesHint explains a quoted scalar that would have been fine unquoted.
func quotesHint(n *yaml.Node, tags []string) string {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
		return ""
	}
	plain := yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
	if slices.Contains(tags, plain.ShortTag()) {
		return " (remove the quotes)"
	}
	return ""
}

// maxShown bounds how much of a bad value an error quotes.
const maxShown = 40

// shown quotes a bad value for an error, unless it must stay hidden.
func (d *decoder) shown(n *yaml.Node, t reflect.Type) string {
	switch {
	case t == secretType:
		return "a secret (not shown)"
	case FromEnv(n):
		return "a value from the environment (not shown)"
	}
	v := n.Value
	if len(v) > maxShown {
		v = strings.ToValidUTF8(v[:maxShown], "") + "…"
	}
	return strconv.Quote(v)
}

// hideEnv removes environment values under n from msg, an error text from
// code that does not know which values are secret (a yaml.Unmarshaler).
func (d *decoder) hideEnv(n *yaml.Node, msg string) string {
	var values []string
	walkScalars(n, func(s *yaml.Node) {
		if s.Value != "" && FromEnv(s) {
			values = append(values, s.Value)
		}
	})
	// Longest first, so a value that contains another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		if !strings.Contains(msg, v) {
			continue
		}
		if len(v) < 3 {
			// Replacing a short value would garble the message; drop it.
			return "invalid value (details hidden: they include a value from the environment)"
		}
		msg = strings.ReplaceAll(msg, v, "[redacted]")
	}
	return msg
}

// walkScalars calls fn for every scalar in the tree under n, aliases not
// followed (Load and Decode resolve them first).
func walkScalars(n *yaml.Node, fn func(*yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		fn(n)
	}
	for _, c := range n.Content {
		walkScalars(c, fn)
	}
}
