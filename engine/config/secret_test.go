package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A secret logged through slog prints redacted, whatever the handler, as an
// attribute value and inside a group.
func TestSecretRedactedInSlog(t *testing.T) {
	const value = "s3cr3t-value"
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	}
	// A LogValuer resolves to the redacted string before any handler sees it.
	if v := slog.AnyValue(Secret(value)).Resolve(); v.Kind() != slog.KindString || v.String() != Secret(value).String() {
		t.Fatalf("Secret does not resolve as a slog.LogValuer: %v (%v)", v, v.Kind())
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(h(&buf))
			log.Info("configured", "key", Secret(value), slog.Group("sink", "signature", Secret(value)), slog.Any("any", Secret(value)))
			out := buf.String()
			if strings.Contains(out, value) {
				t.Fatalf("secret leaked: %s", out)
			}
			if !strings.Contains(out, Secret(value).String()) {
				t.Fatalf("redacted form %q missing: %s", Secret(value).String(), out)
			}
		})
	}
}
