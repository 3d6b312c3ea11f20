package httpsink_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/sinks/httpsink"
)

func TestHoldKeepsEventsUntilCancelled(t *testing.T) {
	s, err := httpsink.New(httpsink.Options{Hold: "set event.notification.callback.url"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.HoldReason(); got != "no callback URL: set event.notification.callback.url" {
		t.Fatalf("HoldReason() = %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Deliver(ctx, engine.Delivery{ID: "e1", Body: []byte("{}")}) }()
	select {
	case err := <-done:
		t.Fatalf("Deliver returned %v before its context ended", err)
	case <-time.After(50 * time.Millisecond): // proves a negative: nothing may return meanwhile
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver after cancel = %v, want context.Canceled", err)
	}
}

func TestHoldOrURL(t *testing.T) {
	if _, err := httpsink.New(httpsink.Options{URL: "https://x.example/e", Hold: "why"}); err == nil || !strings.Contains(err.Error(), "hold") {
		t.Errorf("url and hold: %v", err)
	}
	if _, err := httpsink.New(httpsink.Options{}); err == nil || !strings.Contains(err.Error(), "hold: <why>") {
		t.Errorf("neither: %v", err)
	}
	s, err := httpsink.New(httpsink.Options{URL: "https://x.example/e"})
	if err != nil || s.HoldReason() != "" {
		t.Errorf("url only: %v, hold %q", err, s.HoldReason())
	}
}
