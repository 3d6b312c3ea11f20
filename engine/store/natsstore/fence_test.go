package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
)

// A poller that has been replaced (here: a second store on the same stream
// wrote after this one last read it) moves no cursor and stores no events:
// its batch carries the stream's last sequence as it knew it, the server
// rejects the whole batch, and the store then re-reads the stream.
func TestStaleWriterFenced(t *testing.T) {
	ctx := context.Background()
	o := options(cluster, 3, uniq("FENCE"))
	stale := open(t, o)
	fresh := open(t, o)

	var b store.Batch
	b.Append("poll", store.Record{ID: "new-1", Key: "c1"})
	b.Put("poll", "cursor/contacts", []byte("200"))
	if err := fresh.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}

	var old store.Batch
	old.Append("poll", store.Record{ID: "old-1", Key: "c1"})
	old.Append("poll", store.Record{ID: "old-2", Key: "c2"})
	old.Put("poll", "cursor/contacts", []byte("150"))
	err := stale.Commit(ctx, &old)
	if !errors.Is(err, natsstore.ErrFenced) {
		t.Fatalf("stale commit err = %v, want ErrFenced", err)
	}
	if old.Ops[0].Record.Seq != 0 {
		t.Fatalf("fenced batch got seq %d", old.Ops[0].Record.Seq)
	}

	// What the stream holds, read by a third store: only the fresh batch.
	check := open(t, o)
	rs, err := check.Pending(ctx, "poll", 0, 10)
	if err != nil || len(rs) != 1 || rs[0].ID != "new-1" {
		t.Fatalf("pending = %+v, %v; want only new-1", rs, err)
	}
	if v, _ := check.Value(ctx, "poll", "cursor/contacts"); string(v) != "200" {
		t.Fatalf("cursor = %q, want 200 (the fenced writer moved it)", v)
	}

	// The fenced store re-read the stream: it sees the fresh writes and
	// its next batch, validated against them, goes through.
	if v, _ := stale.Value(ctx, "poll", "cursor/contacts"); string(v) != "200" {
		t.Fatalf("fenced store did not catch up: cursor %q", v)
	}
	var retry store.Batch
	retry.Append("poll", store.Record{ID: "old-1", Key: "c1"})
	retry.PutIfAbsent("poll", "cursor/contacts", []byte("150"))
	if err := stale.Commit(ctx, &retry); !errors.Is(err, store.ErrExists) {
		t.Fatalf("retry after catch-up = %v, want ErrExists (it sees the fresh cursor)", err)
	}
	var next store.Batch
	next.Append("poll", store.Record{ID: "old-3", Key: "c3"})
	if err := stale.Commit(ctx, &next); err != nil {
		t.Fatalf("commit after catch-up: %v", err)
	}
	if next.Ops[0].Record.Seq != 2 {
		t.Fatalf("seq after catch-up = %d, want 2", next.Ops[0].Record.Seq)
	}
}

// Open refuses a stream that cannot keep the store's promises, saying why.
func TestOpenRefusesUnfitStream(t *testing.T) {
	ctx := context.Background()
	nc, err := nats.Connect(cluster.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	unfit := uniq("UNFIT")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: unfit, Subjects: []string{"cd." + unfit + ".>"}, Replicas: 1, Storage: jetstream.FileStorage,
		MaxAge: 3600e9,
	}); err != nil {
		t.Fatal(err)
	}
	_, err = natsstore.Open(ctx, options(cluster, 3, unfit))
	if err == nil {
		t.Fatal("Open accepted an R1 stream without atomic publish")
	}
	for _, want := range []string{"1 replica(s)", "configured for 3", "atomic publish", "rollups", "TTL", "max_age"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	// R3 on a single server: the creation fails with a hint.
	_, err = natsstore.Open(ctx, options(single, 3, uniq("R3ALONE")))
	if err == nil || !strings.Contains(err.Error(), "replicas=1") {
		t.Fatalf("R3 on one server: %v", err)
	}
	// A stream created by connectord passes the checks when reopened.
	s := open(t, options(cluster, 3, uniq("FIT")))
	if info := s.Info(); info.Replicas != 3 || info.ServerVersion == "" {
		t.Fatalf("Info = %+v", info)
	}
}

// Foreign messages on the store's subjects stop Open with a clear error.
func TestOpenRefusesForeignMessages(t *testing.T) {
	ctx := context.Background()
	foreign := uniq("FOREIGN")
	s := open(t, options(single, 1, foreign))
	s.Close()
	nc, err := nats.Connect(single.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Publish(ctx, "cd."+foreign+".x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, err = natsstore.Open(ctx, options(single, 1, foreign))
	if err == nil || !strings.Contains(err.Error(), "not a connectord store message") {
		t.Fatalf("Open = %v, want a foreign-message error", err)
	}
}

func TestRedact(t *testing.T) {
	got := natsstore.Redact("nats://u:secret@h1:4222,nats://h2:4222,tls://tok@h3")
	if strings.Contains(got, "secret") || strings.Contains(got, "tok") || !strings.Contains(got, "h2:4222") {
		t.Fatalf("Redact = %s", got)
	}
}

// Fencing holds with batches pipelined: of many concurrent commits from a
// store that another writer has overtaken, each either fails fenced and is
// absent from the stream, or succeeds (after the store caught up) and is
// there, with no Seq given twice.
func TestFencedWhilePipelined(t *testing.T) {
	ctx := context.Background()
	o := options(cluster, 3, uniq("FENCEPIPE"))
	stale := open(t, o)
	other := open(t, o)
	var b store.Batch
	b.Append("p", store.Record{ID: "other"})
	if err := other.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make([]error, n)
	batches := make([]*store.Batch, n)
	var wg sync.WaitGroup
	for i := range n {
		batches[i] = &store.Batch{}
		batches[i].Append("p", store.Record{ID: fmt.Sprintf("s%d", i)})
		wg.Go(func() { errs[i] = stale.Commit(ctx, batches[i]) })
	}
	wg.Wait()
	fenced := 0
	want := map[string]bool{"other": true}
	for i, err := range errs {
		switch {
		case err == nil:
			want[fmt.Sprintf("s%d", i)] = true
		case errors.Is(err, natsstore.ErrFenced):
			fenced++
		default:
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	if fenced == 0 {
		t.Fatal("no commit was fenced")
	}
	check := open(t, o)
	rs, err := check.Pending(ctx, "p", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, r := range rs {
		if !want[r.ID] || seen[r.Seq] {
			t.Fatalf("stream holds %s at seq %d: fenced, or seq given twice", r.ID, r.Seq)
		}
		seen[r.Seq] = true
		delete(want, r.ID)
	}
	if len(want) > 0 {
		t.Fatalf("acknowledged commits missing: %v", want)
	}
	t.Logf("%d of %d commits fenced, the rest stored after catching up", fenced, n)
}

// uniq names a stream for one test run (-count may repeat a test).
func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, streams.Add(1)) }
