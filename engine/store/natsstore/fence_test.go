package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
)

// A poller that has been replaced (here: a second store on the same stream
// moved the cursor after this one last read it) moves no cursor and stores
// no events: its cursor message expects the cursor's sequence as it knew
// it, the server rejects the whole batch, and the store catches up.
func TestStaleWriterFenced(t *testing.T) {
	ctx := context.Background()
	o := options(cluster, 3, uniq("FENCE"))
	stale := open(t, o)
	fresh := open(t, o)
	// The stale poller read its cursor when it started (none yet).
	if _, err := stale.Value(ctx, "poll", "cursor/contacts"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cursor before any write: %v", err)
	}

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
	if next.Ops[0].Record.Seq <= b.Ops[0].Record.Seq {
		t.Fatalf("seq after catch-up = %d, want above the fresh writer's %d", next.Ops[0].Record.Seq, b.Ops[0].Record.Seq)
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

// Two stores on one stream, appending concurrently (the intake of two
// replicas): every commit lands, Seqs are unique and increase in each
// writer's commit order, both stores see every record of both, and the
// Seq a writer was given is the one the other store reads for that record
// (an atomic batch's messages are consecutive in the stream).
func TestTwoWritersOneStream(t *testing.T) {
	ctx := context.Background()
	o := options(cluster, 3, uniq("MULTI"))
	a, b := open(t, o), open(t, o)
	const emitters, each = 8, 25
	type got struct {
		id  string
		seq uint64
	}
	results := make([][]got, 2*emitters)
	errs := make(chan error, 2*emitters)
	began := time.Now()
	var wg sync.WaitGroup
	for e := range 2 * emitters {
		s := a
		if e%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				var bt store.Batch
				id := fmt.Sprintf("e%d-%d", e, i)
				bt.Append("p", store.Record{ID: id, Key: fmt.Sprintf("k%d", e)})
				bt.Append("p", store.Record{ID: id + "b", Key: fmt.Sprintf("k%d", e)})
				if err := s.Commit(ctx, &bt); err != nil {
					errs <- err
					return
				}
				results[e] = append(results[e], got{id, bt.Ops[0].Record.Seq}, got{id + "b", bt.Ops[1].Record.Seq})
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(errs)
	for err := range errs {
		t.Fatalf("commit: %v", err)
	}
	want := map[uint64]string{}
	for e, rs := range results {
		for i, r := range rs {
			if i > 0 && r.seq <= rs[i-1].seq {
				t.Fatalf("emitter %d: seq %d after %d", e, r.seq, rs[i-1].seq)
			}
			if prev, dup := want[r.seq]; dup {
				t.Fatalf("seq %d given to %s and %s", r.seq, prev, r.id)
			}
			want[r.seq] = r.id
		}
	}
	for name, s := range map[string]*natsstore.Store{"a": a, "b": b} {
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Pending(ctx, "p", 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(want) {
			t.Fatalf("store %s sees %d records, want %d", name, len(rs), len(want))
		}
		for _, r := range rs {
			if want[r.Seq] != r.ID {
				t.Fatalf("store %s: seq %d is %s, the writer was told %s", name, r.Seq, r.ID, want[r.Seq])
			}
		}
	}
	t.Logf("%d records from 2 writers in %d batches, %v (%.0f records/s)", len(want), 2*emitters*each, elapsed.Round(time.Millisecond), float64(len(want))/elapsed.Seconds())
}

// A dedupe mark put by two replicas at once: exactly one batch wins, the
// other fails with ErrExists and writes nothing, and both stores agree.
func TestPutIfAbsentAcrossWriters(t *testing.T) {
	ctx := context.Background()
	o := options(cluster, 3, uniq("DEDUPE"))
	a, b := open(t, o), open(t, o)
	for round := range 10 {
		key := fmt.Sprintf("dedupe/%d", round)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, s := range []*natsstore.Store{a, b} {
			wg.Go(func() {
				var bt store.Batch
				bt.Append("hook", store.Record{ID: fmt.Sprintf("r%d-%d", round, i), Key: "k"})
				bt.PutIfAbsent("hook", key, []byte{byte('a' + i)})
				errs[i] = s.Commit(ctx, &bt)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrExists):
			default:
				t.Fatalf("round %d writer %d: %v", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d winners (%v), want exactly 1", round, won, errs)
		}
	}
	for _, s := range []*natsstore.Store{a, b} {
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Pending(ctx, "hook", 0, 100)
		if err != nil || len(rs) != 10 {
			t.Fatalf("pending = %d records, %v; want 10 (one per mark)", len(rs), err)
		}
	}
}

// uniq names a stream for one test run (-count may repeat a test).
func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, streams.Add(1)) }

// A store's Watch reports another writer's append and ack (with a Seq no
// higher than theirs) once the store's reads show them, and Sync waits
// for them.
func TestWatchSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	o := options(single, 1, uniq("WATCH"))
	a, b := open(t, o), open(t, o)
	changes, stop := a.Watch("p")
	defer stop()
	var own store.Batch
	own.Append("p", store.Record{ID: "own"})
	if err := a.Commit(ctx, &own); err != nil {
		t.Fatal(err)
	}
	var other store.Batch
	other.Append("p", store.Record{ID: "other"})
	if err := b.Commit(ctx, &other); err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-changes:
		// The lowest Seq changed: the other's, or this store's own if
		// the tail applied it before its acknowledgement came.
		if seq != other.Ops[0].Record.Seq && seq != own.Ops[0].Record.Seq {
			t.Fatalf("watch reported seq %d, want %d (or %d)", seq, other.Ops[0].Record.Seq, own.Ops[0].Record.Seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported for the other writer's append")
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := a.Get(ctx, "p", other.Ops[0].Record.Seq); err != nil || r.ID != "other" {
		t.Fatalf("after Sync: %+v, %v", r, err)
	}
	var ack store.Batch
	ack.Ack("p", own.Ops[0].Record.Seq)
	if err := b.Commit(ctx, &ack); err != nil {
		t.Fatal(err)
	}
	// A report of the other's append may still be pending from before the
	// ack (the tail and the acknowledgement race): the ack must come as a
	// report of its own Seq, and nothing lower may be reported.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case seq := <-changes:
			if seq < own.Ops[0].Record.Seq {
				t.Fatalf("watch reported seq %d for the ack, want %d", seq, own.Ops[0].Record.Seq)
			}
			if seq == own.Ops[0].Record.Seq {
				return
			}
		case <-deadline:
			t.Fatal("no change reported for the other writer's ack")
		}
	}
}
