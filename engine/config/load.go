package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Env looks up an environment variable; os.LookupEnv in production.
type Env func(name string) (string, bool)

// Load reads every *.yaml and *.yml file in dir (not recursing), in name
// order, and returns all pipelines, or every error found in all files.
// Names must be unique across dir; a duplicate names both places. Hidden
// files (".x.yaml", Emacs' ".#x.yaml") and other editor leftovers ("x.yaml~",
// ".x.yaml.swp") are ignored. A nil env means os.LookupEnv. When dir is a
// file, Load reads that file alone, whatever its name.
func Load(dir string, env Env) ([]Pipeline, Errors) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return LoadFile(dir, env)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, Errors{ioError(dir, "cannot read config directory", err)}
	}
	var all []Pipeline
	var errs Errors
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !isPipelineFile(path, e) {
			continue
		}
		ps, es := loadFile(path, env)
		all = append(all, ps...)
		errs = append(errs, es...)
	}
	return finish(all, errs)
}

// LoadFile reads one pipeline file.
func LoadFile(path string, env Env) ([]Pipeline, Errors) {
	return finish(loadFile(path, env))
}

// finish checks that names are unique and returns the pipelines, or only
// the errors if there are any.
func finish(ps []Pipeline, errs Errors) ([]Pipeline, Errors) {
	first := map[string]Position{}
	for _, p := range ps {
		if p.Name == "" {
			continue
		}
		if at, dup := first[p.Name]; dup {
			errs.Add(p.NamePos, "duplicate pipeline name %q (first defined at %s)", p.Name, at)
			continue
		}
		first[p.Name] = p.NamePos
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return ps, nil
}

// isPipelineFile selects *.yaml and *.yml files that are not hidden. The
// suffix rule alone drops "x.yaml~" and ".x.yaml.swp"; symlinks (as in a
// Kubernetes ConfigMap mount) count when they lead to a regular file.
func isPipelineFile(path string, e fs.DirEntry) bool {
	name := e.Name()
	ext := filepath.Ext(name)
	if strings.HasPrefix(name, ".") || ext != ".yaml" && ext != ".yml" {
		return false
	}
	if e.Type()&fs.ModeSymlink != 0 {
		fi, err := os.Stat(path)
		return err == nil && fi.Mode().IsRegular()
	}
	return e.Type().IsRegular()
}

// loadFile reads one file: parse, note block indents, interpolate, resolve
// aliases and merges, then read pipelines. It returns what it could read
// along with every error, so duplicate names are found even in bad files.
func loadFile(path string, env Env) ([]Pipeline, Errors) {
	if env == nil {
		env = os.LookupEnv
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{ioError(path, "cannot read pipeline file", err)}
	}
	docs, perr := parseYAML(path, src)
	if perr != nil {
		return nil, Errors{perr}
	}
	var errs Errors
	var roots []*yaml.Node
	for _, doc := range docs {
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue // empty, or only comments
		}
		roots = append(roots, doc.Content[0])
	}
	if len(roots) > 1 {
		errs.Add(NodePos(path, roots[1]), "a pipeline file holds one YAML document; list several pipelines under pipelines:")
		roots = roots[:1]
	}
	var out []Pipeline
	lines := fileLines(src)
	for _, root := range roots {
		noteBlockIndents(root, lines)
		(&interpolator{file: path, env: env, errs: &errs}).walk(root)
		resolved := newResolver(path, &errs).resolve(root)
		out = append(out, (&fileParser{file: path, errs: &errs}).document(resolved)...)
	}
	return out, errs
}

// ioError reports a file system error at path, which has no line; the
// cause stays reachable with errors.Is and errors.As.
func ioError(path, what string, err error) *Error {
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err // the path is already in the position
	}
	return &Error{Pos: Position{File: path}, Msg: what + ": " + cause.Error(), Err: err}
}
