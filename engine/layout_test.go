package engine

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/connectord/connectord/"

// The layout is the architecture: the core imports nothing of connectord's,
// and nothing under engine/ imports a component or the application. A
// change that breaks this puts knowledge in the wrong room.
func TestLayoutBoundaries(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			rel, ours := strings.CutPrefix(p, module)
			if !ours {
				continue
			}
			core := filepath.Dir(path) == "."
			switch {
			case core && !strings.HasSuffix(path, "_test.go"):
				t.Errorf("%s imports %s: the core imports nothing of connectord's", path, p)
			case strings.HasPrefix(rel, "sources/"), strings.HasPrefix(rel, "sinks/"),
				strings.HasPrefix(rel, "transforms/"), strings.HasPrefix(rel, "cmd/"):
				t.Errorf("engine/%s imports %s: engine/ never imports components or the application", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
