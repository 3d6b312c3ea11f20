package jq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/itchyny/gojq"

	"github.com/connectord/connectord/engine/config"
)

// moduleLoader resolves `include "NAME"` and `import "NAME" as x`: the
// embedded module first, then NAME.jq in dir, the pipeline file's directory.
// `import "NAME" as $x` reads NAME.json from dir. gojq finds its methods by
// interface assertion.
type moduleLoader struct {
	dir string
}

// LoadModule parses module name.
func (l moduleLoader) LoadModule(name string) (*gojq.Query, error) {
	text, err := l.source(name)
	if err != nil {
		return nil, err
	}
	q, err := gojq.Parse(text.Value)
	if err != nil {
		return nil, &moduleError{text: text, err: err}
	}
	return q, nil
}

// LoadJSON reads the JSON values of name.json; jq binds them as an array.
func (l moduleLoader) LoadJSON(name string) (any, error) {
	path := l.path(name, ".json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jq data module %q: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	vals := []any{}
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return vals, nil
		} else if err != nil {
			return nil, fmt.Errorf("jq data module %s: %w", path, err)
		}
		vals = append(vals, v)
	}
}

// source returns a module's text, positioned at the start of its file.
func (l moduleLoader) source(name string) (config.Text, error) {
	if name == ModuleName {
		return fileText("(embedded) "+ModuleName+".jq", intercomModule), nil
	}
	path := l.path(name, ".jq")
	b, err := os.ReadFile(path)
	if err != nil {
		return config.Text{}, fmt.Errorf("jq module %q: %w", name, err)
	}
	return fileText(path, string(b)), nil
}

func (l moduleLoader) path(name, ext string) string {
	return filepath.Join(l.dir, filepath.FromSlash(name)+ext)
}

// fileText is the whole content of a file as a Text, so offsets map to the
// file's own lines and columns.
func fileText(path, content string) config.Text {
	return config.Text{Value: content, Pos: config.Position{File: path, Line: 1, Col: 1}}
}

// moduleError is a syntax error inside a module file; it carries the file's
// text so the error can point into it.
type moduleError struct {
	text config.Text
	err  error
}

func (e *moduleError) Error() string { return e.text.Pos.File + ": " + e.err.Error() }
func (e *moduleError) Unwrap() error { return e.err }

// referencedFiles lists the module files a program includes or imports from
// dir, recursively, so hot reload can watch them. Missing or unparsable
// files are listed too: creating or fixing one should trigger a rebuild.
func referencedFiles(program, dir string) []string {
	var files []string
	seen := map[string]bool{}
	var walk func(src string)
	walk = func(src string) {
		q, err := gojq.Parse(src)
		if err != nil {
			return
		}
		l := moduleLoader{dir: dir}
		for _, imp := range q.Imports {
			name := imp.ImportPath
			if name == "" {
				name = imp.IncludePath
			}
			ext := ".jq"
			if strings.HasPrefix(imp.ImportAlias, "$") {
				ext = ".json"
			} else if name == ModuleName {
				continue // embedded
			}
			path := l.path(name, ext)
			if seen[path] {
				continue
			}
			seen[path] = true
			files = append(files, path)
			if ext == ".jq" {
				if b, err := os.ReadFile(path); err == nil {
					walk(string(b))
				}
			}
		}
	}
	walk(program)
	return files
}
