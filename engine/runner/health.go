package runner

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/store"
)

// storeHealth remembers whether the store's last commit failed, for
// readiness: a full disk or a failing device makes every webhook answer 503
// and every poll wait, and /readyz says so until a commit succeeds again.
type storeHealth struct {
	mu    sync.Mutex
	err   string
	since time.Time
}

func (h *storeHealth) record(err error) {
	// Duplicates and a full queue are answers, not store failures;
	// cancellation and shutdown say nothing about the disk either.
	if err != nil && (errors.Is(err, store.ErrExists) || errors.Is(err, engine.ErrQueueFull) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrClosed)) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.err, h.since = "", time.Time{}
		return
	}
	if h.err == "" {
		h.since = time.Now()
	}
	h.err = err.Error()
}

// StoreError is the last commit error while commits are failing ("" once
// one succeeded) and since when they have been failing.
func (r *Runtime) StoreError() (string, time.Time) {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	return r.health.err, r.health.since
}

// trackedStore records every commit's result in a storeHealth.
type trackedStore struct {
	store.Store
	health *storeHealth
}

func (t *trackedStore) Commit(ctx context.Context, b *store.Batch) error {
	err := t.Store.Commit(ctx, b)
	t.health.record(err)
	return err
}

// CommitDeferred passes a deferred commit on (see store.DeferredCommitter),
// recording its result like Commit's.
func (t *trackedStore) CommitDeferred(ctx context.Context, b *store.Batch) error {
	err := store.CommitDeferred(ctx, t.Store, b)
	t.health.record(err)
	return err
}

var _ store.DeferredCommitter = (*trackedStore)(nil)

// asWatcher is s's store.Watcher, looking through the runtime's tracking
// wrapper: only stores that other replicas write have one.
func asWatcher(s store.Store) (store.Watcher, bool) {
	if t, ok := s.(*trackedStore); ok {
		s = t.Store
	}
	w, ok := s.(store.Watcher)
	return w, ok
}
