package jq_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/connectord/connectord/engine"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

// goldenDir holds one case per folder: program.jq, input.json, meta.json and
// the expected outputs, want.json.
const goldenDir = "testdata/golden"

func TestGolden(t *testing.T) {
	cases, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join(goldenDir, c.Name())
			program := readFile(t, dir, "program.jq")
			input := decode(t, readFile(t, dir, "input.json"))
			var meta engine.Meta
			if err := json.Unmarshal([]byte(readFile(t, dir, "meta.json")), &meta); err != nil {
				t.Fatalf("meta.json: %v", err)
			}
			got := indent(t, run(t, build(t, program), input, meta))

			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("outputs differ from %s (run with -update to accept):\n%s", wantPath, got)
			}
		})
	}
}

func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func indent(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}
