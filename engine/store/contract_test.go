package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/storetest"
)

// Bolt runs the store contract on the embedded bbolt store.
func TestContract(t *testing.T) { storetest.Run(t, Backend()) }

// Backend is the bbolt store for storetest (and the benchmarks).
func Backend() storetest.Backend {
	return storetest.Backend{
		Open: func(t testing.TB, now func() time.Time) store.Store {
			path := filepath.Join(t.TempDir(), "data", "connectord.db")
			s, err := store.Open(path, store.WithClock(now))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			storetest.CloseAtCleanup(t, s)
			return s
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			path := s.(*store.Bolt).Path()
			if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				t.Fatalf("Close: %v", err)
			}
			s2, err := store.Open(path)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			storetest.CloseAtCleanup(t, s2)
			return s2
		},
		Syncs: func(s store.Store) uint64 { return s.(*store.Bolt).Syncs() },
	}
}
