package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Schema is a JSON Schema (draft 2020-12) object.
type Schema = map[string]any

// VarRef is the $defs name of the schema for a ${VAR} reference written in
// place of a value that is not a string: editors see the file before
// interpolation, so `refresh_interval: ${POLL_INTERVAL:-15}` must pass.
const VarRef = "var"

// VarSchema is the schema VarRef names.
func VarSchema() Schema {
	return Schema{"type": "string", "pattern": `\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`,
		"description": "${VAR} or ${VAR:-default}, replaced from the environment when the file is loaded"}
}

// FieldDoc returns the description of a struct field, or "".
type FieldDoc func(t reflect.Type, f reflect.StructField) string

// SchemaOf describes, as a JSON Schema, what Decode accepts into opts (a
// pointer to a fresh options struct, defaults set): the same keys (yaml
// tags, inline structs), the Shorthand scalar form, Duration, Secret and
// Text, and every value that is not a string may also be a ${VAR}. Defaults
// are opts' non-zero values (never a Secret's). A field's description is
// its `doc` struct tag, else what doc returns (nil: none). The result refers
// to #/$defs/var (VarSchema).
func SchemaOf(opts any, doc FieldDoc) Schema {
	v := reflect.ValueOf(opts)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() {
		return Schema{}
	}
	return (&schemaGen{doc: doc}).value(v.Type(), v)
}

type schemaGen struct{ doc FieldDoc }

var durationSchema = Schema{"description": "a duration: 30s, 5m, 1h30m, or a number of seconds",
	"anyOf": []any{Schema{"type": "number", "minimum": 0}, Schema{"type": "string", "pattern": `^\s*[0-9.]+\s*$|^([0-9.]+(ns|us|µs|ms|s|m|h))+$`}, varRef()}}

func varRef() Schema { return Schema{"$ref": "#/$defs/" + VarRef} }

// orVar lets a ${VAR} stand for a value of schema s.
func orVar(s Schema) Schema { return Schema{"anyOf": []any{s, varRef()}} }

// value is the schema of type t; v is its default value (may be invalid).
func (g *schemaGen) value(t reflect.Type, v reflect.Value) Schema {
	switch {
	case t == textType, t == secretType:
		return Schema{"type": "string"}
	case t == durationType:
		s := clone(durationSchema)
		if v.IsValid() && v.Int() != 0 {
			s["default"] = time.Duration(v.Int()).String()
		}
		return s
	case t == nodeType:
		return Schema{}
	case t.Kind() == reflect.Pointer:
		var ev reflect.Value
		if v.IsValid() && !v.IsNil() {
			ev = v.Elem()
		}
		return g.value(t.Elem(), ev)
	case reflect.PointerTo(t).Implements(unmarshalType):
		// Custom YAML decoding: only the kind of scalar is known.
		if k := t.Kind(); k == reflect.Struct || k == reflect.Map || k == reflect.Slice {
			return Schema{}
		}
		return Schema{"type": []any{"string", "number", "integer", "boolean"}}
	case reflect.PointerTo(t).Implements(textUnmarshal):
		return Schema{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.structure(t, v)
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": g.value(t.Elem(), reflect.Value{})}
	case reflect.Slice, reflect.Array:
		return Schema{"type": "array", "items": g.value(t.Elem(), reflect.Value{})}
	case reflect.Interface:
		return Schema{}
	case reflect.String:
		s := Schema{"type": "string"}
		if v.IsValid() && v.String() != "" {
			s["default"] = v.String()
		}
		return s
	case reflect.Bool:
		s := Schema{"type": "boolean"}
		if v.IsValid() && v.Bool() {
			s["default"] = true
		}
		return orVar(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s := Schema{"type": "integer"}
		if v.IsValid() && v.Int() != 0 {
			s["default"] = v.Int()
		}
		return orVar(s)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s := Schema{"type": "integer", "minimum": 0}
		if v.IsValid() && v.Uint() != 0 {
			s["default"] = v.Uint()
		}
		return orVar(s)
	case reflect.Float32, reflect.Float64:
		s := Schema{"type": "number"}
		if v.IsValid() && v.Float() != 0 {
			s["default"] = v.Float()
		}
		return orVar(s)
	}
	return Schema{}
}

// structure is a struct's schema: exactly its keys, and with Shorthand its
// one-scalar form too.
func (g *schemaGen) structure(t reflect.Type, v reflect.Value) Schema {
	fields := fieldsOf(t)
	props := Schema{}
	for _, name := range fields.names {
		f := t.FieldByIndex(fields.index[name])
		var fv reflect.Value
		if v.IsValid() {
			fv = v.FieldByIndex(fields.index[name])
		}
		s := g.value(f.Type, fv)
		if d := g.describe(t, f); d != "" {
			s["description"] = d
		}
		props[name] = s
	}
	obj := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if sh, ok := reflect.New(t).Interface().(Shorthand); ok {
		field := sh.ShorthandField()
		if p, ok := props[field].(Schema); ok {
			short := clone(p)
			delete(short, "default")
			short["description"] = fmt.Sprintf("shorthand for {%s: ...}", field)
			return Schema{"anyOf": []any{short, obj}}
		}
	}
	return obj
}

func (g *schemaGen) describe(t reflect.Type, f reflect.StructField) string {
	if d := f.Tag.Get("doc"); d != "" {
		return d
	}
	if g.doc != nil {
		return strings.TrimSpace(g.doc(t, f))
	}
	return ""
}

func clone(s Schema) Schema {
	c := make(Schema, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}
