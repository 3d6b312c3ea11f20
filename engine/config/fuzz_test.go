package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSecret is what every variable holds while fuzzing; no error may show it.
const fuzzSecret = "Fuzz-Secret-Value"

// FuzzLoad loads arbitrary files and decodes their components into the
// sample structs and generically. Nothing may panic, every error must point
// into the file, and no error may show an environment value. The seeds are
// every file under testdata/cases, so plain go test runs them.
func FuzzLoad(f *testing.F) {
	err := filepath.WalkDir(casesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		f.Add(b)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	env := func(name string) (string, bool) { return fuzzSecret, !strings.HasPrefix(name, "UNSET") }
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "in.yaml")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		ps, errs := Load(dir, env)
		checkFuzzErrors(t, path, src, errs)
		for _, p := range ps {
			if len(p.Hash) != 64 || p.Name == "" {
				t.Errorf("pipeline %q has hash %q", p.Name, p.Hash)
			}
			for _, c := range components(p) {
				_, errs := Decode(p.File, c.Node, sampleOptions(c.Kind))
				checkFuzzErrors(t, path, src, errs)
				var g any
				_, errs = Decode(p.File, c.Node, &g)
				checkFuzzErrors(t, path, src, errs)
			}
		}
	})
}

func checkFuzzErrors(t *testing.T, path string, src []byte, errs Errors) {
	t.Helper()
	for _, e := range errs {
		if e.Pos.File != path || e.Pos.Line < 1 || e.Pos.Col < 1 {
			t.Errorf("error outside the file: %v", e)
		}
		if strings.Contains(e.Msg, fuzzSecret) && !strings.Contains(string(src), fuzzSecret) {
			t.Errorf("error shows an environment value: %v", e)
		}
	}
}
