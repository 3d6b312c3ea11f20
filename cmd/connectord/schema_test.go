package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
)

// compileSchema compiles `connectord schema`'s output with an independent
// validator (santhosh-tekuri/jsonschema, draft 2020-12).
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	code, out, errs := runCLI("schema")
	if code != exitOK {
		t.Fatalf("schema: exit %d: %s", code, errs)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("pipeline.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("pipeline.schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return s
}

// yamlInstance reads a pipeline file as an editor's language server sees it:
// the text as written (${VAR}s not replaced), anchors and merge keys
// resolved, as JSON values.
func yamlInstance(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestSchemaAcceptsWhatTheDecoderAccepts: every shipped pipeline, and every
// golden config case that the strict loader and the real components accept
// (with every variable set), passes the schema.
func TestSchemaAcceptsWhatTheDecoderAccepts(t *testing.T) {
	s := compileSchema(t)
	shipped, _ := filepath.Glob("../../pipelines/*.yaml")
	cases, _ := filepath.Glob("../../engine/config/testdata/cases/*.good.yaml")
	if len(shipped) < 2 {
		t.Fatalf("found %d shipped pipelines", len(shipped))
	}
	// Defaults where there are some, else a URL (which most options take).
	unset := func(string) (string, bool) { return "", false }
	url := func(name string) (string, bool) { return "http://127.0.0.1:1/" + strings.ToLower(name), true }
	checked := 0
	for _, path := range append(shipped, cases...) {
		specs, errs := config.LoadFile(path, unset)
		if len(errs) > 0 {
			specs, errs = config.LoadFile(path, url)
		}
		if len(errs) == 0 {
			var built []*runner.Built
			built, errs = runner.Build(specs, runner.BuildOptions{})
			for _, b := range built {
				closeBuilt(b)
			}
		}
		if len(errs) > 0 {
			if strings.Contains(path, "/pipelines/") {
				t.Errorf("%s does not build: %v", path, errs)
			}
			continue // a case for the loader alone, with sample components
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var plain any
		if err := yaml.Unmarshal(src, &plain); err != nil {
			// `{url: ${CALLBACK_URL}}` in a flow mapping: connectord reads
			// it, but it is not YAML, so no editor can check it either.
			t.Logf("%s: not plain YAML (%v); skipped", path, err)
			continue
		}
		checked++
		if err := s.Validate(yamlInstance(t, src)); err != nil {
			t.Errorf("%s builds, but the schema rejects it:\n%v", path, err)
		}
	}
	if checked < len(shipped)+1 {
		t.Errorf("checked %d files, want the %d shipped ones and some golden cases", checked, len(shipped))
	}
	t.Logf("%d files checked against the schema", checked)
}

// TestSchemaRejectsTypos: a misspelt key anywhere, a wrong type or two
// sources fail the schema, as they fail validate.
func TestSchemaRejectsTypos(t *testing.T) {
	s := compileSchema(t)
	src, err := os.ReadFile("../../pipelines/intercom-webhooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"option key":    {"    signature:", "    signatur:"},
		"pipeline key":  {"transforms:", "transform:"},
		"component":     {"  intercom_webhook:", "  intercom_webhooks:"},
		"wrong type":    {"path: /webhooks/intercom", "path: [/webhooks/intercom]"},
		"nested option": {"      key: ${SIGNATURE_KEY", "      kee: ${SIGNATURE_KEY"},
	} {
		bad := strings.Replace(string(src), edit[0], edit[1], 1)
		if bad == string(src) {
			t.Fatalf("%s: %q not found in the shipped file", name, edit[0])
		}
		if err := s.Validate(yamlInstance(t, []byte(bad))); err == nil {
			t.Errorf("%s: the schema accepts %q", name, edit[1])
		}
	}
	// A numeric option may be a ${VAR}, as editors see it before loading.
	ok := strings.Replace(string(src), "      key: ${SIGNATURE_KEY:-demo-signature-key}", "      key: ${SIGNATURE_KEY:-demo-signature-key}\n    max_in_flight: ${IN_FLIGHT:-16}", 1)
	if err := s.Validate(yamlInstance(t, []byte(ok))); err != nil {
		t.Errorf("max_in_flight: ${IN_FLIGHT:-16} rejected: %v", err)
	}
}

// TestSchemaDescriptionsAndDefaults: options carry their doc comments and
// the fresh config's defaults.
func TestSchemaDescriptionsAndDefaults(t *testing.T) {
	defs := pipelineSchema()["$defs"].(config.Schema)
	poller := defs["source.intercom_poller"].(config.Schema)["properties"].(config.Schema)
	if d, _ := poller["api"].(config.Schema)["description"].(string); !strings.Contains(d, "base URL") {
		t.Errorf("intercom_poller api description = %q", d)
	}
	if d := poller["intercom_version"].(config.Schema); d["default"] != "2.11" {
		t.Errorf("intercom_version default = %v", d["default"])
	}
	jq := defs["transform.jq"].(config.Schema)["anyOf"].([]any)[1].(config.Schema)["properties"].(config.Schema)
	if d := jq["timeout"].(config.Schema)["default"]; d != "1s" {
		t.Errorf("jq timeout default = %v", d)
	}
}

// TestShippedSchemaUpToDate: pipelines/schema.json, which the shipped
// files' yaml-language-server line names, is `connectord schema`'s output.
func TestShippedSchemaUpToDate(t *testing.T) {
	b, err := pipelineSchemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	checkGenerated(t, "../../pipelines/schema.json", b)
	for _, f := range []string{"intercom-polling.yaml", "intercom-webhooks.yaml"} {
		src, err := os.ReadFile(filepath.Join("../../pipelines", f))
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(src), "\n"); first != "# yaml-language-server: $schema=schema.json" {
			t.Errorf("%s: first line %q, want the yaml-language-server schema line", f, first)
		}
	}
}
