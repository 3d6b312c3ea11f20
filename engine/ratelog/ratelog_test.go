package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOncePerIntervalWithCount(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	now := time.Unix(0, 0)
	l := &Limiter{Every: 10 * time.Second, Now: func() time.Time { return now }}
	for range 2662 {
		l.Log(logger, slog.LevelError, "webhook not stored", "error", "no space left on device")
	}
	now = now.Add(11 * time.Second)
	l.Log(logger, slog.LevelError, "webhook not stored", "error", "no space left on device")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "repeated=2661") {
		t.Errorf("second line %q does not count the held-back repeats", lines[1])
	}
}
