package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoShowsSignedEventsAndHotReload runs the demo on a copy of the
// shipped pipelines: events from the webhook and both pollers arrive, every
// printed event has a valid signature, and an edit of the webhook
// pipeline's filter while it runs is reloaded and takes effect.
func TestDemoShowsSignedEventsAndHotReload(t *testing.T) {
	conf := t.TempDir()
	for _, f := range []string{"intercom-polling.yaml", "intercom-webhooks.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../pipelines", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(conf, f), b, 0o644)
	}
	out := &syncBuffer{}
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- demoCmd([]string{"--config", conf, "--admin", "127.0.0.1:0", "--every", "100ms", "--poll", "1s", "--duration", "9s"}, out, &errOut)
	}()
	waitOutput := func(what string, cond func(string) bool) {
		t.Helper()
		eventually(t, 30*time.Second, func() bool { return cond(out.String()) }, func() string {
			return fmt.Sprintf("timed out waiting for %s; output:\n%s\nstderr:\n%s", what, out.String(), errOut.String())
		})
	}
	waitOutput("webhook and poll events", func(s string) bool {
		return strings.Contains(s, "intercom-webhooks ") && strings.Contains(s, "intercom-conversations ")
	})

	// Only CREATED from now on, for the webhook pipeline.
	path := filepath.Join(conf, "intercom-webhooks.yaml")
	b, _ := os.ReadFile(path)
	edited := strings.Replace(string(b), `!= "UNKNOWN"`, `== "CREATED"`, 1)
	if edited == string(b) {
		t.Fatal("the README's edit no longer applies to intercom-webhooks.yaml")
	}
	os.WriteFile(path, []byte(edited), 0o644)
	waitOutput("the reload", func(s string) bool { return strings.Contains(s, "replaced [intercom-webhooks]") })
	reloadSeen := time.Now()

	if code := <-done; code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	s := out.String()
	events := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, " intercom-") && strings.Contains(line, "signature") {
			events++
			if !strings.HasSuffix(line, "signature OK") {
				t.Errorf("invalid signature: %s", line)
			}
		}
	}
	if events < 10 {
		t.Errorf("only %d events printed:\n%s", events, s)
	}
	// Once the new generation serves (lines stamped two seconds after the
	// reload, so events queued before the swap are out of the way), the
	// webhook pipeline delivers CREATED events only.
	createdAfter := 0
	for _, line := range strings.Split(s, "\n") {
		stamp, err := time.ParseInLocation("15:04:05", strings.SplitN(line, " ", 2)[0], time.Local)
		if err != nil || !strings.Contains(line, "intercom-webhooks ") || strings.Contains(line, "reload") {
			continue
		}
		at := time.Date(reloadSeen.Year(), reloadSeen.Month(), reloadSeen.Day(), stamp.Hour(), stamp.Minute(), stamp.Second(), 0, time.Local)
		if at.Before(reloadSeen.Add(2 * time.Second)) {
			continue
		}
		if strings.Contains(line, " UPDATED ") {
			t.Errorf("webhook UPDATED event after the filter was changed to CREATED only: %s", line)
		} else {
			createdAfter++
		}
	}
	if createdAfter == 0 {
		t.Errorf("no webhook events after the reload:\n%s", s)
	}
	if !strings.Contains(s, "0 invalid") {
		t.Errorf("summary missing or invalid signatures:\n%s", s)
	}
}
