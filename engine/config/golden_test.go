package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cases")

const casesDir = "testdata/cases"

// goldenEnv is the environment every golden case sees.
var goldenEnv = mapEnv(map[string]string{
	"CALLBACK_URL":  "https://receiver.example/hook",
	"TRICKY":        "a # not a comment: still the value",
	"QUOTES":        `it's "quoted"`,
	"MULTILINE":     "line one\nkey: line two",
	"SIGNATURE_KEY": "s3cr3t-signature-key",
	"NUMBER":        "42",
	"EMPTY":         "",
	"TOKEN":         "tok-123",
})

func mapEnv(m map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// TestGolden loads each case under testdata/cases: <case>.bad.yaml (or a
// <case>.bad directory) must fail with exactly <case>.bad.txt, and
// <case>.good.yaml (or directory) must load into <case>.good.json. Options
// are decoded into the sample structs, so option errors count for bad cases.
func TestGolden(t *testing.T) {
	entries, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, e := range entries {
		name := e.Name()
		base, ok := strings.CutSuffix(strings.TrimSuffix(name, ".yaml"), ".bad")
		bad := ok && (e.IsDir() || strings.HasSuffix(name, ".yaml"))
		gbase, ok := strings.CutSuffix(strings.TrimSuffix(name, ".yaml"), ".good")
		good := ok && (e.IsDir() || strings.HasSuffix(name, ".yaml"))
		path := filepath.Join(casesDir, name)
		switch {
		case bad:
			n++
			t.Run(base, func(t *testing.T) { checkBad(t, path, e.IsDir()) })
		case good:
			n++
			t.Run(gbase, func(t *testing.T) { checkGood(t, path, e.IsDir()) })
		}
	}
	if n < 10 {
		t.Fatalf("found only %d cases in %s", n, casesDir)
	}
}

func load(path string, isDir bool) ([]Pipeline, Errors) {
	if isDir {
		return Load(path, goldenEnv)
	}
	return LoadFile(path, goldenEnv)
}

func checkBad(t *testing.T, path string, isDir bool) {
	ps, errs := load(path, isDir)
	if errs == nil {
		for _, p := range ps {
			for _, c := range components(p) {
				_, es := Decode(p.File, c.Node, sampleOptions(c.Kind), Within(c.Kind+" options"))
				errs = append(errs, es...)
			}
		}
	}
	if len(errs) == 0 {
		t.Fatalf("%s loaded without errors", path)
	}
	got := strings.ReplaceAll(errs.Error(), casesDir+"/", "testdata/config/") + "\n"
	compareGolden(t, strings.TrimSuffix(path, ".yaml")+".txt", got)
}

func checkGood(t *testing.T, path string, isDir bool) {
	ps, errs := load(path, isDir)
	if errs != nil {
		t.Fatalf("unexpected errors:\n%v", errs)
	}
	var out []any
	for _, p := range ps {
		out = append(out, describePipeline(t, p))
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(string(b), casesDir+"/", "testdata/config/") + "\n"
	compareGolden(t, strings.TrimSuffix(path, ".yaml")+".json", got)
}

// describePipeline renders a pipeline for the golden file: positions as
// LINE:COL, options both generic and decoded into the sample struct.
func describePipeline(t *testing.T, p Pipeline) map[string]any {
	t.Helper()
	comp := func(c Component) map[string]any {
		var generic any
		if _, errs := Decode(p.File, c.Node, &generic); errs != nil {
			t.Errorf("generic decode of %s: %v", c.Kind, errs)
		}
		sample := sampleOptions(c.Kind)
		ps, errs := Decode(p.File, c.Node, sample)
		if errs != nil {
			t.Errorf("decode of %s: %v", c.Kind, errs)
		}
		return map[string]any{
			"kind": c.Kind, "pos": lineCol(c.Pos), "options": generic,
			"decoded": sample, "positions": positionsOf(ps),
		}
	}
	var transforms []any
	for _, c := range p.Transforms {
		transforms = append(transforms, comp(c))
	}
	return map[string]any{
		"name": p.Name, "namePos": lineCol(p.NamePos), "description": p.Description,
		"file": p.File, "pos": lineCol(p.Pos), "hash": p.Hash,
		"source": comp(p.Source), "transforms": transforms, "sink": comp(p.Sink),
	}
}

func lineCol(p Position) string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

func positionsOf(ps Positions) map[string]string {
	out := map[string]string{}
	for k, p := range ps {
		out[k] = lineCol(p)
	}
	return out
}

func components(p Pipeline) []Component {
	return append(append([]Component{p.Source}, p.Transforms...), p.Sink)
}

func compareGolden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", file, got, want)
	}
}
