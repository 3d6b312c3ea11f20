package jq_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/transforms/jq"
)

// configError builds opts and returns the *config.Error text it fails with.
func configError(t *testing.T, opts engine.TransformConfig, bc engine.BuildContext) string {
	t.Helper()
	_, err := opts.NewTransform(bc)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v (%T), want a *config.Error", err, err)
	}
	return ce.Error()
}

// The Texts below are what the decoder makes of the YAML shown beside them:
// Pos is the scalar node's position, Indent a block scalar's content column.
func TestInlineSyntaxErrorPositions(t *testing.T) {
	bc := engine.BuildContext{File: "pipelines/hooks.yaml"}
	tests := []struct {
		name string
		text config.Text
		want string
	}{{
		// 12|      - jq: .foo | | .bar
		name: "plain",
		text: config.Text{Value: ".foo | | .bar", Pos: config.Position{File: bc.File, Line: 12, Col: 13}},
		want: `pipelines/hooks.yaml:12:20: jq: unexpected token "|"`,
	}, {
		// 7|      - jq: 'include "intercom"; webhook_event | ]'
		name: "single quoted",
		text: config.Text{Value: `include "intercom"; webhook_event | ]`, Style: yaml.SingleQuotedStyle,
			Pos: config.Position{File: bc.File, Line: 7, Col: 13}},
		want: `pipelines/hooks.yaml:7:50: jq: unexpected token "]"`,
	}, {
		// 20|      - jq: |
		// 21|          include "intercom";
		// 22|          webhook_event
		// 23|          | .message.events[0] +* 2
		name: "literal block",
		text: config.Text{Value: "include \"intercom\";\nwebhook_event\n| .message.events[0] +* 2\n",
			Style: yaml.LiteralStyle, Indent: 11, Pos: config.Position{File: bc.File, Line: 20, Col: 13}},
		want: `pipelines/hooks.yaml:23:33: jq: unexpected token "*"`,
	}, {
		// 9|      - jq: {program: .a | "unterminated}
		// gojq reports where the input ended, not where the string began.
		name: "unterminated string",
		text: config.Text{Value: `.a | "unterminated`, Pos: config.Position{File: bc.File, Line: 9, Col: 24}},
		want: `pipelines/hooks.yaml:9:42: jq: unterminated string literal`,
	}, {
		// 3|  jq: .foo |
		name: "unexpected end",
		text: config.Text{Value: `.foo |`, Pos: config.Position{File: bc.File, Line: 3, Col: 7}},
		want: `pipelines/hooks.yaml:3:13: jq: unexpected EOF`,
	}, {
		// gojq does not say where a name is used: the error points at the program.
		name: "undefined function",
		text: config.Text{Value: `include "intercom"; webhook_events`, Pos: config.Position{File: bc.File, Line: 5, Col: 11}},
		want: `pipelines/hooks.yaml:5:11: jq: function not defined: webhook_events/0`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := configError(t, &jq.Options{Program: tt.text, Timeout: config.Duration(jq.DefaultTimeout)}, bc)
			if got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFileSyntaxErrorPosition(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"normalise.jq": "include \"intercom\";\n# the envelope\nwebhook_event\n  | .message ) \n",
	})
	bc := engine.BuildContext{File: filepath.Join(dir, "hooks.yaml")}
	got := configError(t, &jq.FileOptions{Path: "normalise.jq", Timeout: config.Duration(jq.DefaultTimeout)}, bc)
	if want := filepath.Join(dir, "normalise.jq") + `:4:14: jq: unexpected token ")"`; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestModuleSyntaxErrorPointsIntoModule(t *testing.T) {
	dir := writeFiles(t, map[string]string{"lib.jq": "def ok: 1;\ndef bad: .a |;\n"})
	bc := engine.BuildContext{File: filepath.Join(dir, "hooks.yaml")}
	opts := &jq.Options{Program: inline(`include "lib"; bad`), Timeout: config.Duration(jq.DefaultTimeout)}
	got := configError(t, opts, bc)
	if want := filepath.Join(dir, "lib.jq") + `:2:14: jq: unexpected token ";"`; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestMissingModule(t *testing.T) {
	opts := &jq.Options{Program: inline(`include "nope"; .`), Timeout: config.Duration(jq.DefaultTimeout)}
	got := configError(t, opts, engine.BuildContext{File: filepath.Join(t.TempDir(), "p.yaml")})
	if !strings.HasPrefix(got, "pipelines/p.yaml:1:1: jq: ") || !strings.Contains(got, `"nope"`) {
		t.Errorf("got %s", got)
	}
}

func TestModulesFromPipelineDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"lib.jq":     "include \"sub\"; def twice: . * k;\n",
		"sub.jq":     "def k: 2;\n",
		"table.json": `{"x": 21}`,
		"prog.jq":    "include \"lib\"; import \"table\" as $t; $t[0].x | twice\n",
	})
	bc := engine.BuildContext{File: filepath.Join(dir, "p.yaml")}

	inlineOpts := &jq.Options{Program: inline(`include "lib"; import "table" as $t; import "intercom" as ic; $t[0].x | twice`), Timeout: config.Duration(jq.DefaultTimeout)}
	fileOpts := &jq.FileOptions{Path: "prog.jq", Timeout: config.Duration(jq.DefaultTimeout)}
	for _, opts := range []interface {
		engine.TransformConfig
		engine.FileReferrer
	}{inlineOpts, fileOpts} {
		tr, err := opts.NewTransform(bc)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, tr, nil, nil); got != "[42]" {
			t.Errorf("%T: got %s, want [42]", opts, got)
		}
	}

	wantInline := []string{filepath.Join(dir, "lib.jq"), filepath.Join(dir, "sub.jq"), filepath.Join(dir, "table.json")}
	if got := inlineOpts.ReferencedFiles(bc); !slices.Equal(got, wantInline) {
		t.Errorf("inline ReferencedFiles = %v, want %v", got, wantInline)
	}
	wantFile := append([]string{filepath.Join(dir, "prog.jq")}, wantInline...)
	if got := fileOpts.ReferencedFiles(bc); !slices.Equal(got, wantFile) {
		t.Errorf("jq_file ReferencedFiles = %v, want %v", got, wantFile)
	}
}

func TestOptionValidation(t *testing.T) {
	bc := engine.BuildContext{File: filepath.Join(t.TempDir(), "p.yaml")}
	tests := []struct {
		name       string
		opts       engine.TransformConfig
		wantField  string
		wantInText string
	}{
		{"empty program", &jq.Options{Program: inline("  "), Timeout: config.Duration(jq.DefaultTimeout)}, "program", "required"},
		{"zero timeout", &jq.Options{Program: inline("."), Timeout: 0}, "timeout", "greater than 0"},
		{"no path", &jq.FileOptions{Timeout: config.Duration(jq.DefaultTimeout)}, "path", "required"},
		{"missing file", &jq.FileOptions{Path: "gone.jq", Timeout: config.Duration(jq.DefaultTimeout)}, "path", "gone.jq"},
	}
	for _, tt := range tests {
		_, err := tt.opts.NewTransform(bc)
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.wantField || !strings.Contains(fe.Msg, tt.wantInText) {
			t.Errorf("%s: got %v, want a FieldError on %s mentioning %q", tt.name, err, tt.wantField, tt.wantInText)
		}
	}
}

func TestRegisteredWithShorthand(t *testing.T) {
	kinds := engine.Kinds[engine.TransformConfig]()
	for _, k := range []string{"jq", "jq_file"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("transform %q is not registered (have %v)", k, kinds)
		}
	}
	if f := (&jq.Options{}).ShorthandField(); f != "program" {
		t.Errorf("jq shorthand field = %q", f)
	}
	if f := (&jq.FileOptions{}).ShorthandField(); f != "path" {
		t.Errorf("jq_file shorthand field = %q", f)
	}
}
