package config

import (
	"reflect"
	"strings"
	"sync"
)

// structFields is the YAML view of a struct type: each key's field index
// path, and the keys in declaration order (for suggestions).
type structFields struct {
	index map[string][]int
	names []string
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf lists the keys a struct accepts, following yaml.v3's rules:
// `yaml:"name"` renames, `yaml:"-"` skips, untagged exported fields use the
// lower-cased field name, unexported fields are ignored and `,inline`
// structs contribute their own fields.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{index: map[string][]int{}}
	collectFields(t, nil, sf, map[reflect.Type]bool{})
	f, _ := fieldCache.LoadOrStore(t, sf)
	return f.(*structFields)
}

func collectFields(t reflect.Type, prefix []int, sf *structFields, visiting map[reflect.Type]bool) {
	if visiting[t] {
		return // an inline cycle cannot be written in YAML anyway
	}
	visiting[t] = true
	defer delete(visiting, t)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(append([]int(nil), prefix...), i)
		if hasOpt(opts, "inline") && f.Type.Kind() == reflect.Struct {
			// An unexported embedded struct may be inlined: its exported
			// fields are settable through it.
			collectFields(f.Type, index, sf, visiting)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, dup := sf.index[name]; dup {
			continue // the first field declared with a name keeps it
		}
		sf.index[name] = index
		sf.names = append(sf.names, name)
	}
}

func hasOpt(opts, want string) bool {
	for opt := range strings.SplitSeq(opts, ",") {
		if opt == want {
			return true
		}
	}
	return false
}
