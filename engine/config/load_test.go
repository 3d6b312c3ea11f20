package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const minimal = "name: %s\nsource: {intercom_webhook: {}}\nsink: {stdout: {}}\n"

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func names(ps []Pipeline) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestLoadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	ps, errs := Load(dir, goldenEnv)
	if ps != nil || len(errs) != 1 {
		t.Fatalf("got %v, %v", ps, errs)
	}
	if want := dir + ": cannot read config directory: no such file or directory"; errs.Error() != want {
		t.Errorf("got %q, want %q", errs.Error(), want)
	}
	if !errors.Is(errs, fs.ErrNotExist) {
		t.Error("the cause is not reachable with errors.Is")
	}
}

// TestLoadSelectsFiles: only *.yaml and *.yml directly in dir, not hidden,
// in name order; editor leftovers, other files and subdirectories (all
// invalid here) are ignored.
func TestLoadSelectsFiles(t *testing.T) {
	dir := t.TempDir()
	broken := "name: [\n"
	writeFiles(t, dir, map[string]string{
		"b.yml":          strings.ReplaceAll(minimal, "%s", "b"),
		"a.yaml":         strings.ReplaceAll(minimal, "%s", "a"),
		"empty.yaml":     "",
		"comments.yaml":  "# nothing yet\n",
		".#a.yaml":       broken,
		".hidden.yaml":   broken,
		"a.yaml~":        broken,
		".a.yaml.swp":    broken,
		"#a.yaml#":       broken,
		"notes.txt":      broken,
		"sub/c.yaml":     broken,
		"dir.yaml/x.yml": broken,
	})
	other := t.TempDir()
	writeFiles(t, other, map[string]string{"target": strings.ReplaceAll(minimal, "%s", "linked")})
	if err := os.Symlink(filepath.Join(other, "target"), filepath.Join(dir, "c.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(dir, "d.yaml")); err != nil {
		t.Fatal(err)
	}
	ps, errs := Load(dir, goldenEnv)
	if errs != nil {
		t.Fatal(errs)
	}
	if got, want := names(ps), []string{"a", "b", "linked"}; !slices.Equal(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
	if ps[0].File != filepath.Join(dir, "a.yaml") {
		t.Errorf("File = %q", ps[0].File)
	}
}

// TestLoadReportsEveryFile: errors from all files, not only the first.
func TestLoadReportsEveryFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml": "name: [\n",
		"b.yaml": "name: b\nsource: {x: {}}\n",
		"c.yaml": "name: c\nsink: {x: {}}\nsource: {x: ${NOPE}}\n",
	})
	_, errs := Load(dir, goldenEnv)
	want := []string{
		filepath.Join(dir, "a.yaml") + ":1:7: invalid YAML: did not find expected node content",
		filepath.Join(dir, "b.yaml") + `:1:1: pipeline "b" has no sink`,
		filepath.Join(dir, "c.yaml") + `:3:13: environment variable "NOPE" is not set (use ${NOPE:-default} for a default)`,
	}
	if got := strings.Split(errs.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestInterpolationKeepsStructure: whatever a variable holds, it becomes
// one scalar's value and nothing else.
func TestInterpolationKeepsStructure(t *testing.T) {
	values := []string{
		"a # comment", "key: value", "'single'", `"double"`, "line\n  evil: true",
		"- item", "{a: 1}", "[1, 2]", "*alias", "&anchor x", "!!int 5", "${NESTED}", "|\n  block",
		"trailing space ", "",
	}
	for _, v := range values {
		env := mapEnv(map[string]string{"V": v})
		for _, form := range []string{"plain: ${V}", "single: '${V}'", `double: "${V}"`, "block: |-\n  ${V}"} {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"p.yaml": "name: p\nsource: {x: {" + "}}\nsink:\n  x:\n    " + strings.ReplaceAll(form, "\n", "\n    ") + "\n"})
			ps, errs := Load(dir, env)
			if errs != nil {
				t.Fatalf("%q in %s: %v", v, form, errs)
			}
			var got map[string]any
			decodeOK(t, ps[0].File, ps[0].Sink.Node, &got)
			if len(got) != 1 {
				t.Fatalf("%q in %s: decoded %#v", v, form, got)
			}
			for _, val := range got {
				want := any(v)
				if strings.HasPrefix(form, "plain") && (v == "" || v == "!!int 5") {
					want = map[string]any{"": nil, "!!int 5": "!!int 5"}[v]
				}
				if val != want {
					t.Errorf("%q in %s: decoded %#v", v, form, val)
				}
			}
		}
	}
}

func TestAnchorsInterpolatedOnce(t *testing.T) {
	calls := 0
	env := func(name string) (string, bool) {
		calls++
		return "", false
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"p.yaml": `pipelines:
  - name: a
    source: {x: &opts {url: "${MISSING}"}}
    sink: {x: *opts}
  - name: b
    source: {x: *opts}
    sink: {x: {<<: *opts}}
`})
	_, errs := Load(dir, env)
	if calls != 1 || len(errs) != 1 || errs[0].Pos.Line != 3 || errs[0].Pos.Col != 30 {
		t.Errorf("env calls = %d, errors:\n%v", calls, errs)
	}
}

func TestPipelineNameRules(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen)
	for name, ok := range map[string]bool{
		"a": true, "A.b_c-9": true, long: true, long + "x": false,
		"a b": false, "a/b": false, "é": false, `""`: false, "a:b": false,
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"p.yaml": strings.ReplaceAll(minimal, "%s", name)})
		ps, errs := Load(dir, goldenEnv)
		if ok && (errs != nil || ps[0].Name != name) {
			t.Errorf("%q: %v %v", name, names(ps), errs)
		}
		if !ok && errs == nil {
			t.Errorf("%q accepted", name)
		}
	}
}

// TestNameFromEnvHidden: an invalid name from the environment is not shown.
func TestNameFromEnvHidden(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"p.yaml": strings.ReplaceAll(minimal, "%s", "${NAME}")})
	_, errs := Load(dir, mapEnv(map[string]string{"NAME": "top secret"}))
	if errs == nil || strings.Contains(errs.Error(), "top secret") {
		t.Errorf("got %v", errs)
	}
}

func TestErrorsErrorDoesNotReorder(t *testing.T) {
	es := Errors{Errorf(Position{File: "b", Line: 1, Col: 1}, "x"), Errorf(Position{File: "a", Line: 1, Col: 1}, "y")}
	if got := es.Error(); got != "a:1:1: y\nb:1:1: x" {
		t.Errorf("got %q", got)
	}
	if es[0].Pos.File != "b" {
		t.Error("Error() sorted its receiver")
	}
}

// TestLoadOneFile: --config may name a single file, whatever its suffix.
func TestLoadOneFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml":    strings.ReplaceAll(minimal, "%s", "a"),
		"b.pipe":    strings.ReplaceAll(minimal, "%s", "b"),
		"c.yaml":    strings.ReplaceAll(minimal, "%s", "c"),
		"bad.yaml~": "name: [\n",
	})
	ps, errs := Load(filepath.Join(dir, "b.pipe"), goldenEnv)
	if len(errs) > 0 || !slices.Equal(names(ps), []string{"b"}) {
		t.Fatalf("got %v, %v; want [b]", names(ps), errs)
	}
	if ps[0].File != filepath.Join(dir, "b.pipe") {
		t.Errorf("File = %q", ps[0].File)
	}
}

// TestLoadRecordsDefaults: a ${VAR:-default} that took its default is
// listed on every pipeline using it, an anchored one in each alias; a
// variable that is set, or a poller placeholder, is not.
func TestLoadRecordsDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"p.yaml": `pipelines:
  - name: a
    source: {intercom_webhook: {path: /a, client_secret: "${SECRET:-demo}"}}
    sink:
      http: &cb
        url: ${CALLBACK_URL:-http://127.0.0.1:8600/events}
        timeout: ${TIMEOUT:-10s}
  - name: b
    source: {intercom_poller: {url: "/x?since=${gmtDate:yyyy-MM-dd}", token: "${SET:-nope}"}}
    sink: {http: *cb}
`})
	env := func(name string) (string, bool) {
		if name == "SET" || name == "TIMEOUT" {
			return "v", true
		}
		return "", false
	}
	ps, errs := Load(dir, env)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := func(p Pipeline) []string {
		var out []string
		for _, d := range p.Defaults {
			out = append(out, fmt.Sprintf("%s=%s@%d:%d", d.Var, d.Value, d.Pos.Line, d.Pos.Col))
		}
		return out
	}
	if want := []string{"SECRET=demo@3:58", "CALLBACK_URL=http://127.0.0.1:8600/events@6:14"}; !slices.Equal(got(ps[0]), want) {
		t.Errorf("a: got %q, want %q", got(ps[0]), want)
	}
	if want := []string{"CALLBACK_URL=http://127.0.0.1:8600/events@6:14"}; !slices.Equal(got(ps[1]), want) {
		t.Errorf("b: got %q, want %q", got(ps[1]), want)
	}
}

// TestErrorsUnique: the same message at the same place (a mistake in an
// anchor, decoded once per alias) is printed and counted once.
func TestErrorsUnique(t *testing.T) {
	at := func(line int) Position { return Position{File: "p.yaml", Line: line, Col: 3} }
	es := Errors{Errorf(at(9), "x"), Errorf(at(4), "http: unknown field"), Errorf(at(4), "http: unknown field"), Errorf(at(4), "other")}
	if got, want := es.Error(), "p.yaml:4:3: http: unknown field\np.yaml:4:3: other\np.yaml:9:3: x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := len(es.Unique()); n != 3 {
		t.Errorf("Unique: %d errors, want 3", n)
	}
	if len(es) != 4 {
		t.Error("Unique changed its receiver")
	}
}
