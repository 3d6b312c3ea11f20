package soc

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/sources/intercom"
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

// TestImportModesMatchShippedPipelines converts a body polling every
// resource the poller knows and checks that each generated poller uses
// the resource's exact request and mode from the sources/intercom table,
// and that the shipped pipelines/intercom-polling.yaml polls it with the
// same request (the poller infers the mode from it).
func TestImportModesMatchShippedPipelines(t *testing.T) {
	type poller struct {
		Resource string `yaml:"resource"`
		URL      string `yaml:"url"`
		Mode     string `yaml:"mode"`
	}
	type file struct {
		Pipelines []struct {
			Source struct {
				Poller *poller `yaml:"intercom_poller"`
			} `yaml:"source"`
		} `yaml:"pipelines"`
	}
	pollers := func(t *testing.T, data []byte) map[string]poller {
		t.Helper()
		var f file
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		out := map[string]poller{}
		for _, p := range f.Pipelines {
			if p.Source.Poller != nil {
				out[p.Source.Poller.Resource] = *p.Source.Poller
			}
		}
		return out
	}
	body, err := os.ReadFile(filepath.Join(importDir, "polling-resources.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Convert(req, Options{})
	if err != nil {
		t.Fatal(err)
	}
	imported := pollers(t, plan.YAML)
	shippedYAML, err := os.ReadFile("../../../../pipelines/intercom-polling.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped := pollers(t, shippedYAML)
	for _, name := range intercom.PolledResources() {
		res, _ := intercom.LookupResource(name)
		got, ok := imported[name]
		if !ok {
			t.Errorf("import wrote no poller for %s", name)
		} else if got.URL != res.Path || got.Mode != res.Mode {
			t.Errorf("import polls %s with %s in %q mode; the table says %s in %s mode", name, got.URL, got.Mode, res.Path, res.Mode)
		}
		if s, ok := shipped[name]; !ok {
			t.Errorf("pipelines/intercom-polling.yaml has no block for %s", name)
		} else if s.URL != res.Path || (s.Mode != "" && s.Mode != res.Mode) {
			t.Errorf("the shipped %s block polls %s (mode %q); the table says %s in %s mode", name, s.URL, s.Mode, res.Path, res.Mode)
		}
	}
}
