package webhook

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

// Kind is the source's name in pipeline files.
const Kind = "webhook"

// Verification modes.
const (
	VerifyStandard   = "standard"
	VerifyHMACSHA256 = "hmac_sha256"
	VerifyNone       = "none"
)

func init() {
	engine.Register(Kind, func() engine.SourceConfig { return newOptions() })
}

// newOptions returns the options with their defaults set.
func newOptions() *Options {
	return &Options{
		Verify:       VerifyStandard,
		Tolerance:    config.Duration(5 * time.Minute),
		MaxBody:      1 << 20,
		DedupeWindow: config.Duration(24 * time.Hour),
	}
}

// Options configure the generic webhook source.
type Options struct {
	// Path is where senders POST, on the --listen server.
	Path string `yaml:"path"`
	// Verify is standard (Standard Webhooks, the default), hmac_sha256 or
	// none.
	Verify string `yaml:"verify"`
	// Secret keys the HMAC. For standard, a "whsec_" prefix means the rest
	// is the base64 key (as Standard Webhooks senders show it); any other
	// value is used as raw bytes, as for hmac_sha256.
	Secret config.Secret `yaml:"secret"`
	// Header carries the hmac_sha256 signature of the raw body, as hex,
	// "sha256=" + hex, base64, or "sha256=" + base64.
	Header string `yaml:"header"`
	// Tolerance is how far webhook-timestamp may be from now (standard;
	// default 5m).
	Tolerance config.Duration `yaml:"tolerance"`
	// MaxBody is the largest accepted body in bytes (default 1 MiB).
	MaxBody int64 `yaml:"max_body"`
	// DedupeWindow is how long a webhook id is remembered (default 24h).
	DedupeWindow config.Duration `yaml:"dedupe_window"`
	// IDHeader names the header with the sender's message id, the event id
	// and dedupe key (default webhook-id). Without it, the event id is a
	// hash of the body and the message is not deduplicated.
	IDHeader string `yaml:"id_header"`
}

var _ engine.SourceConfig = (*Options)(nil)

// NewSource validates the options; it does no I/O.
func (o *Options) NewSource(bc engine.BuildContext) (engine.Source, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Source{opts: *o, bc: bc.WithDefaults(), idHeader: http.CanonicalHeaderKey(o.IDHeader)}
	if s.idHeader == "" {
		s.idHeader = http.CanonicalHeaderKey(standardID)
	}
	switch o.Verify {
	case VerifyStandard:
		key, err := standardKey(o.Secret.Reveal())
		if err != nil {
			return nil, err
		}
		s.verifier = &standard{key: key, tolerance: o.Tolerance.D()}
		s.drop = []string{standardSignature}
	case VerifyHMACSHA256:
		s.verifier = &hmacSHA256{key: []byte(o.Secret.Reveal()), header: http.CanonicalHeaderKey(o.Header)}
		s.drop = []string{o.Header}
	case VerifyNone:
		s.verifier = noVerify{}
		if bc.Logger != nil {
			bc.Logger.Warn("webhook: verify is none; anyone who can reach the path can post events", "path", o.Path)
		}
	}
	return s, nil
}

func (o *Options) validate() error {
	switch {
	case o.Path == "":
		return config.FieldErrorf("path", "is required (e.g. /webhooks/orders)")
	case !strings.HasPrefix(o.Path, "/"):
		return config.FieldErrorf("path", "must start with \"/\"")
	case o.Verify != VerifyStandard && o.Verify != VerifyHMACSHA256 && o.Verify != VerifyNone:
		return config.FieldErrorf("verify", "must be standard, hmac_sha256 or none, not %q", o.Verify)
	case o.Verify != VerifyNone && o.Secret == "":
		return config.FieldErrorf("secret", "is required with verify: %s (or set verify: none)", o.Verify)
	case o.Verify == VerifyNone && o.Secret != "":
		return config.FieldErrorf("secret", "is set but verify is none; set verify to standard or hmac_sha256")
	case o.Verify == VerifyHMACSHA256 && o.Header == "":
		return config.FieldErrorf("header", "is required with verify: hmac_sha256 (e.g. X-Signature-256)")
	case o.Verify != VerifyHMACSHA256 && o.Header != "":
		return config.FieldErrorf("header", "is only used with verify: hmac_sha256")
	case o.Verify == VerifyStandard && o.IDHeader != "" && !strings.EqualFold(o.IDHeader, standardID):
		return config.FieldErrorf("id_header", "must be webhook-id with verify: standard (the id is part of the signed content)")
	case o.Tolerance.D() <= 0:
		return config.FieldErrorf("tolerance", "must be positive")
	case o.MaxBody <= 0:
		return config.FieldErrorf("max_body", "must be a positive number of bytes")
	case o.DedupeWindow.D() < time.Second:
		return config.FieldErrorf("dedupe_window", "must be at least 1s")
	}
	return nil
}

// standardKey is the HMAC key of a Standard Webhooks secret.
func standardKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil || len(key) == 0 {
		return nil, config.FieldErrorf("secret", "a whsec_ secret must be followed by base64 (the value is not shown)")
	}
	return key, nil
}
