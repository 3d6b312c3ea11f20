package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "connectord.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("file mode = %o, want 600", perm)
	}
}

func TestOpenLocked(t *testing.T) {
	s, path := openTemp(t)
	start := time.Now()
	_, err := Open(path, WithLockTimeout(100*time.Millisecond))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "in use by another connectord") {
		t.Fatalf("error does not explain itself: %v", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the lock timeout", waited)
	}
	if _, err := Open(path, WithLockTimeout(0)); !errors.Is(err, ErrLocked) {
		t.Fatalf("no-wait Open err = %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, WithLockTimeout(0))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}
