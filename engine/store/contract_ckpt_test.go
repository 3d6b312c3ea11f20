package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/storetest"
)

// The contract again, with a checkpoint after every commit: reads then
// merge the log's overlay with bbolt while checkpoints move one into the
// other.
func TestContractCheckpointing(t *testing.T) {
	ckpt := store.WithCheckpointsForTest(1, 1, time.Millisecond)
	be := Backend()
	be.Open = func(t testing.TB, now func() time.Time) store.Store {
		s, err := store.Open(filepath.Join(t.TempDir(), "data", "connectord.db"), store.WithClock(now), ckpt)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		storetest.CloseAtCleanup(t, s)
		return s
	}
	be.Reopen = func(t testing.TB, s store.Store) store.Store {
		path := s.(*store.Bolt).Path()
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Close: %v", err)
		}
		s2, err := store.Open(path, ckpt)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		storetest.CloseAtCleanup(t, s2)
		return s2
	}
	storetest.Run(t, be)
}
