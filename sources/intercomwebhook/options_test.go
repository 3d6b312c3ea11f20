package intercomwebhook

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"gopkg.in/yaml.v3"
)

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no path", func(o *Options) { o.Path = "" }, "path"},
		{"relative path", func(o *Options) { o.Path = "webhooks/intercom" }, "path"},
		{"no secret", func(o *Options) { o.ClientSecret = "" }, "client_secret"},
		{"bad glob", func(o *Options) { o.Topics = []string{"conversation.*", "contact.[created"} }, "topics.1"},
		{"empty glob", func(o *Options) { o.Topics = []string{""} }, "topics.0"},
		{"zero max_body", func(o *Options) { o.MaxBody = 0 }, "max_body"},
		{"tiny window", func(o *Options) { o.DedupeWindow = 0 }, "dedupe_window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOptions()
			o.Path, o.ClientSecret = "/hook", "very-secret-value"
			c.edit(o)
			_, err := o.NewSource(engine.BuildContext{})
			var fe *config.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("got %v, want a FieldError on %q", err, c.field)
			}
			if strings.Contains(err.Error(), "very-secret-value") {
				t.Fatalf("error reveals the secret: %v", err)
			}
		})
	}
}

func TestInsecureSkipVerifyWarnsAtBuild(t *testing.T) {
	var logs bytes.Buffer
	o := newOptions()
	o.Path, o.InsecureSkipVerify = "/hook", true
	if _, err := o.NewSource(engine.BuildContext{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "insecure_skip_verify") {
		t.Fatalf("no warning logged: %q", logs.String())
	}
}

func TestRegisteredWithDefaults(t *testing.T) {
	var doc yaml.Node
	src := "source:\n  intercom_webhook:\n    path: /in\n    client_secret: abc\n    topics: [conversation.*]\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	opts := doc.Content[0].Content[1].Content[1]
	spec := config.Pipeline{Name: "p", File: "p.yaml",
		Source: config.Component{Kind: Kind, Node: opts},
		Sink:   config.Component{Kind: "intercomwebhook-test-null", Node: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}}
	cfg := newOptions()
	if _, errs := config.Decode("p.yaml", opts, cfg); len(errs) > 0 {
		t.Fatalf("decode: %v", errs)
	}
	if cfg.MaxBody != 1<<20 || cfg.DedupeWindow.D().Hours() != 24 || cfg.Topics[0] != "conversation.*" {
		t.Fatalf("defaults/fields: %+v", cfg)
	}
	built, errs := runner.Build([]config.Pipeline{spec}, runner.BuildOptions{})
	if len(errs) > 0 {
		t.Fatalf("build: %v", errs)
	}
	if got := built[0].Path(); got != "/in" {
		t.Fatalf("built path %q, want /in", got)
	}
}

// nullSink lets runner.Build complete in this test binary.
type nullSink struct{}

func (*nullSink) NewSink(engine.BuildContext) (engine.Sink, error) { return nullSink{}, nil }
func (nullSink) Deliver(context.Context, engine.Delivery) error    { return nil }

func init() {
	engine.Register("intercomwebhook-test-null", func() engine.SinkConfig { return &nullSink{} })
}
