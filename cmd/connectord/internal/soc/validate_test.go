package soc

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"

	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sinks/stdout"
	_ "github.com/connectord/connectord/sources/intercompoller"
	_ "github.com/connectord/connectord/sources/intercomwebhook"
	_ "github.com/connectord/connectord/transforms/filter"
	_ "github.com/connectord/connectord/transforms/jq"
)

// validate writes the plan's file into a fresh directory and runs the real
// loader and builder over it, with every variable the plan names set.
func validate(t *testing.T, plan *Plan) {
	t.Helper()
	dir := t.TempDir()
	if err := WriteFileAtomic(filepath.Join(dir, plan.File), plan.YAML, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, e := range plan.Env {
		env[e.Name] = "value-of-" + e.Name
		if strings.HasSuffix(e.Name, "_CALLBACK_URL") {
			env[e.Name] = "https://receiver.example/events"
		}
	}
	names := buildDir(t, dir, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if !slices.Equal(names, plan.Pipelines) {
		t.Errorf("loaded pipelines %v, plan says %v", names, plan.Pipelines)
	}
}

// buildDir runs config.Load and runner.Build over dir and returns the
// pipeline names.
func buildDir(t *testing.T, dir string, env config.Env) []string {
	t.Helper()
	specs, errs := config.Load(dir, env)
	if len(errs) > 0 {
		t.Fatalf("config.Load:\n%v", errs)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	built, errs := runner.Build(specs, runner.BuildOptions{})
	for _, b := range built {
		for _, c := range []any{b.Source, b.Sink} {
			if cl, ok := c.(io.Closer); ok {
				cl.Close()
			}
		}
	}
	for _, e := range errs {
		t.Errorf("runner.Build: %v", e)
	}
	return names
}
