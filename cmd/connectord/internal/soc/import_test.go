package soc

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/soc")

const importDir = "testdata/import"

// TestImportGolden converts every testdata/soc/import/*.json body and
// compares the file with NAME.yaml and the warnings with NAME.warnings.
func TestImportGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(importDir, "*.json"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in %s (%v)", importDir, err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseRequest(body)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			plan, err := Convert(req, Options{})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			golden(t, filepath.Join(importDir, name+".yaml"), plan.YAML)
			golden(t, filepath.Join(importDir, name+".warnings"), []byte(strings.Join(plan.Warnings, "\n")+"\n"))
			assertNoSecrets(t, plan.YAML, plan)
			validate(t, plan)
		})
	}
}

// assertNoSecrets fails if any secret value of the plan appears in out.
func assertNoSecrets(t *testing.T, out []byte, plan *Plan) {
	t.Helper()
	for _, e := range plan.Env {
		if v := e.Value.Reveal(); v != "" && bytes.Contains(out, []byte(v)) {
			t.Errorf("output contains the value of %s", e.Name)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
