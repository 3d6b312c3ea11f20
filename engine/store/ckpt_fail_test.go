package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// While checkpoints into bbolt fail, commits go on into the log until the
// overlay reaches its bound; then they are refused with the checkpoint's
// error instead of memory growing without end. A successful checkpoint
// ends the refusal, and nothing committed is lost.
func TestFailingCheckpointsBoundMemory(t *testing.T) {
	const mem = 64 << 10
	s, path := openTemp(t, withCheckpoints(mem, 64<<20, 20*time.Millisecond))
	var failing atomic.Bool
	var attempts atomic.Int64
	failing.Store(true)
	s.testHookCheckpoint = func() error {
		attempts.Add(1)
		if failing.Load() {
			return errors.New("injected: no space left on device")
		}
		return nil
	}
	body := bytes.Repeat([]byte("x"), 4<<10)
	committed := 0
	var refused error
	for i := 0; i < 10*maxOverlayFactor*mem/len(body); i++ {
		var b Batch
		b.Append("p", Record{ID: fmt.Sprintf("ev-%d", i), Body: body})
		if err := s.Commit(context.Background(), &b); err != nil {
			refused = err
			break
		}
		committed++
	}
	if refused == nil {
		t.Fatalf("%d commits of %d KiB accepted while every checkpoint failed (bound %d KiB)", committed, len(body)>>10, maxOverlayFactor*mem>>10)
	}
	if !strings.Contains(refused.Error(), "injected") {
		t.Fatalf("refusal does not say why: %v", refused)
	}
	if msg, since := s.CheckpointError(); !strings.Contains(msg, "injected") || since.IsZero() {
		t.Fatalf("CheckpointError = %q, %v", msg, since)
	}
	if committed*len(body) < maxOverlayFactor*mem {
		t.Fatalf("refused after %d KiB, before the bound %d KiB", committed*len(body)>>10, maxOverlayFactor*mem>>10)
	}

	// Checkpoints are tried again while commits are refused, though the
	// log a failed one rotated to stays empty.
	tried := attempts.Load()
	waitFor(t, "two more checkpoint attempts while refusing", func() bool { return attempts.Load() >= tried+2 })
	failing.Store(false)
	waitFor(t, "commits accepted after a checkpoint succeeds", func() bool {
		var b Batch
		b.Append("p", Record{ID: fmt.Sprintf("ev-%d", committed), Body: body})
		if s.Commit(context.Background(), &b) != nil {
			return false
		}
		committed++
		return true
	})
	if msg, _ := s.CheckpointError(); msg != "" {
		t.Fatalf("CheckpointError after a success = %q", msg)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := reopen(t, path)
	if got := len(pending(t, r, "p")); got != committed {
		t.Fatalf("%d records after reopening, %d committed", got, committed)
	}
}
