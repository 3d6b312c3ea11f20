package webhook

import (
	"errors"
	"strings"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no path", func(o *Options) { o.Path = "" }, "path"},
		{"relative path", func(o *Options) { o.Path = "hook" }, "path"},
		{"unknown verify", func(o *Options) { o.Verify = "sha1" }, "verify"},
		{"standard without secret", func(o *Options) { o.Secret = "" }, "secret"},
		{"bad whsec", func(o *Options) { o.Secret = "whsec_not*base64!" }, "secret"},
		{"empty whsec", func(o *Options) { o.Secret = "whsec_" }, "secret"},
		{"none with secret", func(o *Options) { o.Verify = VerifyNone }, "secret"},
		{"hmac without header", func(o *Options) { o.Verify = VerifyHMACSHA256 }, "header"},
		{"header with standard", func(o *Options) { o.Header = "X-Sig" }, "header"},
		{"standard id_header", func(o *Options) { o.IDHeader = "X-Request-Id" }, "id_header"},
		{"zero tolerance", func(o *Options) { o.Tolerance = 0 }, "tolerance"},
		{"zero max_body", func(o *Options) { o.MaxBody = 0 }, "max_body"},
		{"zero window", func(o *Options) { o.DedupeWindow = 0 }, "dedupe_window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOptions()
			o.Path, o.Secret = "/hook", "whsec_c2VjcmV0LXZhbHVl"
			c.edit(o)
			_, err := o.NewSource(engine.BuildContext{})
			var fe *config.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("got %v, want a FieldError on %q", err, c.field)
			}
			if strings.Contains(err.Error(), "c2VjcmV0LXZhbHVl") || strings.Contains(err.Error(), "base64!") {
				t.Fatalf("error reveals the secret: %v", err)
			}
		})
	}
	o := newOptions()
	o.Path, o.IDHeader, o.Secret = "/hook", "Webhook-Id", "k"
	if _, err := o.NewSource(engine.BuildContext{}); err != nil {
		t.Fatalf("id_header webhook-id in another case: %v", err)
	}
}
