package natsstore

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// Two deliveries of one webhook on one replica, the second sent while the
// first's batch is still unacknowledged (the sender timed out and tried
// again): the second's dedupe mark must not be refused as a duplicate on
// the strength of the first's, which may still fail. Here the first's
// publish fails; the second is then stored. (Answering it ErrExists at
// once lost an acknowledged webhook in the chaos test.)
func TestPutIfAbsentWaitsForUnsettledBatch(t *testing.T) {
	nc, err := natstest.Start(natstest.Config{Dir: filepath.Join(t.TempDir(), "nats"), Servers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Shutdown()
	s, err := Open(context.Background(), Options{Servers: []string{nc.URLs()}, Stream: "UNSETTLED", Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	// Publish 1 (a first batch) waits until both deliveries are queued, so
	// that they share the next group; publish 2, that group's, fails.
	var publishes atomic.Int32
	s.publishHook = func() error {
		switch publishes.Add(1) {
		case 1:
			deadline := time.Now().Add(10 * time.Second)
			for s.waitingLen() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond) // polling with a deadline
			}
		case 2:
			return errors.New("injected: connection lost mid-publish")
		}
		return nil
	}
	delivery := func(id string) *store.Batch {
		var b store.Batch
		b.Append("hooks", store.Record{ID: id, Key: "conv1", Body: []byte(`{}`)})
		b.PutIfAbsent("hooks", "dedupe/notif_1", []byte("x"))
		return &b
	}
	first := make(chan error, 1)
	go func() {
		var b store.Batch
		b.Put("other", "k", []byte("v"))
		first <- s.Commit(ctx, &b)
	}()
	waitFor(t, func() bool { return publishes.Load() >= 1 })
	a, b := delivery("try1"), delivery("try2")
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- s.Commit(ctx, a) }()
	waitFor(t, func() bool { return s.waitingLen() >= 1 })
	go func() { errB <- s.Commit(ctx, b) }()
	if err := <-first; err != nil {
		t.Fatalf("first batch: %v", err)
	}
	ea, eb := <-errA, <-errB
	if ea == nil {
		t.Fatalf("the injected publish failure did not fail the first delivery")
	}
	if eb != nil {
		t.Fatalf("second delivery of the webhook: %v; want it stored, the first's batch failed", eb)
	}
	recs, err := s.Pending(ctx, "hooks", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != "try2" {
		t.Fatalf("queue holds %+v, want the second delivery only", recs)
	}
	if _, err := s.Value(ctx, "hooks", "dedupe/notif_1"); err != nil {
		t.Fatalf("dedupe mark: %v", err)
	}
}

func (s *Store) waitingLen() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.waiting)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}
