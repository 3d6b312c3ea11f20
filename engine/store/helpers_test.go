package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func rec(i int) Record {
	return Record{ID: fmt.Sprintf("ev-%d", i), Key: fmt.Sprintf("obj-%d", i%3), Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

// openTemp opens a store in a fresh directory and closes it at the end.
func openTemp(t testing.TB, opts ...Option) (*Bolt, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "connectord.db")
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func mustCommit(t testing.TB, s *Bolt, b *Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// appendOne commits one record and returns its Seq.
func appendOne(t testing.TB, s *Bolt, pipeline string, r Record) uint64 {
	t.Helper()
	var b Batch
	b.Append(pipeline, r)
	mustCommit(t, s, &b)
	return b.Ops[0].Record.Seq
}

func pending(t *testing.T, s *Bolt, pipeline string) []Record {
	t.Helper()
	rs, err := s.Pending(context.Background(), pipeline, 0, 1000)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return rs
}

func seqs(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func stats(t *testing.T, s *Bolt, pipeline string) Stats {
	t.Helper()
	st, err := s.Stats(context.Background(), pipeline)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func (s *Bolt) waitingLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting)
}

// txGate holds the next write transaction open (its clock call blocks) so a
// test can line up batches behind it and know exactly how they group.
type txGate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newTxGate() *txGate {
	return &txGate{entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *txGate) now() time.Time {
	if g.armed.CompareAndSwap(true, false) {
		g.entered <- struct{}{}
		<-g.release
	}
	return time.Now()
}

// hold makes the next transaction wait in its clock call until open.
func (g *txGate) hold() { g.armed.Store(true) }

func (g *txGate) open() { g.release <- struct{}{} }
