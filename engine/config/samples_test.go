package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Sample options structs, shaped like the real components' options, so the
// tests exercise Decode on the types components use.

type sampleHTTP struct {
	URL         string            `yaml:"url"`
	Signature   sampleSignature   `yaml:"signature"`
	MaxInFlight int               `yaml:"max_in_flight"`
	Timeout     Duration          `yaml:"timeout"`
	Retry       *sampleRetry      `yaml:"retry"`
	Headers     map[string]string `yaml:"headers"`
	Tags        []string          `yaml:"tags,omitempty"`
	Internal    string            `yaml:"-"`
	//lint:ignore U1000 decoding must ignore unexported fields
	hidden string
}

type sampleSignature struct {
	Key    Secret `yaml:"key"`
	Scheme string `yaml:"scheme"`
}

type sampleRetry struct {
	MaxAttempts     int      `yaml:"max_attempts"`
	InitialInterval Duration `yaml:"initial_interval"`
	Multiplier      float64  `yaml:"multiplier"`
	MaxInterval     Duration `yaml:"max_interval"`
	NoJitter        bool     `yaml:"no_jitter"`
}

func newSampleHTTP() *sampleHTTP {
	return &sampleHTTP{MaxInFlight: 16, Signature: sampleSignature{Scheme: "elements"}}
}

type samplePoller struct {
	API             string `yaml:"api"`
	Token           Secret `yaml:"token"`
	RefreshInterval int    `yaml:"refresh_interval"`
	Resource        string `yaml:"resource"`
	URL             string `yaml:"url"`
	IDField         string `yaml:"idField"`
	PageSize        uint16 `yaml:"pageSize"`
	Dates           any    `yaml:"datesConfiguration"`
}

type sampleJQ struct {
	Program Text           `yaml:"program"`
	Args    map[string]any `yaml:"args"`
}

func (*sampleJQ) ShorthandField() string { return "program" }

type sampleFilter struct {
	Expression Text `yaml:"expression"`
}

func (*sampleFilter) ShorthandField() string { return "expression" }

type sampleWebhook struct {
	Path         string `yaml:"path"`
	ClientSecret Secret `yaml:"client_secret"`
}

// sampleOptions returns a fresh options struct for kind; unknown kinds
// decode generically.
func sampleOptions(kind string) any {
	switch kind {
	case "http":
		return newSampleHTTP()
	case "intercom_poller":
		return &samplePoller{RefreshInterval: 15}
	case "jq":
		return &sampleJQ{}
	case "filter":
		return &sampleFilter{}
	case "intercom_webhook":
		return &sampleWebhook{Path: "/webhooks/intercom"}
	case "stdout":
		return &struct{}{}
	}
	var v any
	return &v
}

// upper is a yaml.Unmarshaler that echoes its input in errors, to check
// that Decode hides environment values in errors it did not write.
type upper string

func (u *upper) UnmarshalYAML(n *yaml.Node) error {
	if strings.ToUpper(n.Value) != n.Value {
		return fmt.Errorf("%q is not upper case", n.Value)
	}
	*u = upper(n.Value)
	return nil
}
