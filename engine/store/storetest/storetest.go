// Package storetest is the store.Store contract as tests: every backend's
// test package calls Run with a Backend, so the embedded bbolt store and the
// JetStream store are held to the same semantics (commit atomicity, ErrExists
// failing the whole batch, per-pipeline Seq, Pending order and paging, the
// persisted retry schedule, ack, dead letters, replay, purge, key-value
// state and Scan order, Stats, Pipelines, Close, grouped concurrent
// commits). Backend-specific behaviour (file locks, crash safety, fencing)
// stays in the backends' own tests.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// Backend opens stores for the contract tests.
type Backend struct {
	// Open returns a new, empty store that the test may close; now (nil:
	// time.Now) stamps Record.Stored. The backend closes it at cleanup if
	// the test did not.
	Open func(t testing.TB, now func() time.Time) store.Store
	// Reopen closes s and opens the same state again (a restart).
	Reopen func(t testing.TB, s store.Store) store.Store
	// Syncs, if set, counts the durable writes s has made so far (bbolt
	// transactions, JetStream batches); the group-commit test uses it.
	Syncs func(s store.Store) uint64
}

func (b Backend) open(t testing.TB, now func() time.Time) store.Store {
	t.Helper()
	return b.Open(t, now)
}

func (b Backend) reopen(t testing.TB, s store.Store) store.Store {
	t.Helper()
	return b.Reopen(t, s)
}

// Run runs every contract test against the backend, each as a subtest.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"FIFOAndIsolation", testFIFOAndIsolation},
		{"AppendFillsBatch", testAppendFillsBatch},
		{"AckAndReopenRedelivers", testAckAndReopenRedelivers},
		{"UpdatePersistsBookkeeping", testUpdatePersistsBookkeeping},
		{"DeadLetterMovesAtomically", testDeadLetterMovesAtomically},
		{"TransformDeadLetterNumbering", testTransformDeadLetterNumbering},
		{"ReplayAndPurge", testReplayAndPurge},
		{"KeyValue", testKeyValue},
		{"PutIfAbsentSeesOwnBatch", testPutIfAbsentSeesOwnBatch},
		{"RejectedBatchWritesNothing", testRejectedBatchWritesNothing},
		{"InvalidOps", testInvalidOps},
		{"StatsExactAfterMixAndReopen", testStatsExactAfterMixAndReopen},
		{"Closed", testClosed},
		{"PutIfAbsentConcurrent", testPutIfAbsentConcurrent},
		{"ConcurrentCommitsGrouped", testConcurrentCommitsGrouped},
		{"CommitContextDone", testCommitContextDone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

func mustCommit(t testing.TB, s store.Store, b *store.Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// appendOne commits one record and returns its Seq.
func appendOne(t testing.TB, s store.Store, pipeline string, r store.Record) uint64 {
	t.Helper()
	var b store.Batch
	b.Append(pipeline, r)
	mustCommit(t, s, &b)
	return b.Ops[0].Record.Seq
}

func pending(t *testing.T, s store.Store, pipeline string) []store.Record {
	t.Helper()
	rs, err := s.Pending(context.Background(), pipeline, 0, 1000)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return rs
}

func seqs(rs []store.Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func stats(t *testing.T, s store.Store, pipeline string) store.Stats {
	t.Helper()
	st, err := s.Stats(context.Background(), pipeline)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// CloseAtCleanup closes s when the test ends unless it is already closed; a
// helper for backends' Open functions.
func CloseAtCleanup(t testing.TB, s store.Store) {
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
}
