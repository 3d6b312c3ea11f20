package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
)

func rec(i int) store.Record {
	return store.Record{ID: fmt.Sprintf("ev-%d", i), Key: fmt.Sprintf("obj-%d", i%3), Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

func testFIFOAndIsolation(t *testing.T, be Backend) {
	s := be.open(t, nil)
	var a, b []uint64
	for i := range 5 {
		a = append(a, appendOne(t, s, "a", rec(i)))
		b = append(b, appendOne(t, s, "b", rec(100+i)))
	}
	if !slices.IsSorted(a) || a[0] == 0 {
		t.Fatalf("seqs of a not increasing from 1: %v", a)
	}
	got := pending(t, s, "a")
	if !slices.Equal(seqs(got), a) {
		t.Fatalf("pending a = %v, want %v", seqs(got), a)
	}
	for i, r := range got {
		if want := rec(i); r.ID != want.ID || r.Key != want.Key || !bytes.Equal(r.Body, want.Body) || r.Stored.IsZero() {
			t.Errorf("record %d = %+v, want %+v with Stored set", i, r, want)
		}
	}
	if gotB := pending(t, s, "b"); !slices.Equal(seqs(gotB), b) || gotB[0].ID != "ev-100" {
		t.Fatalf("pending b = %v, want %v", seqs(gotB), b)
	}
	if rs := pending(t, s, "none"); len(rs) != 0 {
		t.Fatalf("pending of unknown pipeline = %v", rs)
	}
	// Paging: after and limit.
	page, err := s.Pending(context.Background(), "a", a[1], 2)
	if err != nil || !slices.Equal(seqs(page), a[2:4]) {
		t.Fatalf("Pending(after=%d, limit=2) = %v, %v; want %v", a[1], seqs(page), err, a[2:4])
	}
	if _, err := s.Pending(context.Background(), "a", 0, 0); err == nil {
		t.Fatal("Pending with limit 0 succeeded, want error")
	}
	names, err := s.Pipelines(context.Background())
	if err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("Pipelines = %v, %v", names, err)
	}
}

func testAppendFillsBatch(t *testing.T, be Backend) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	s := be.open(t, func() time.Time { return at })
	var b store.Batch
	b.Append("p", rec(1))
	b.Put("p", "cursor", []byte("c1"))
	b.Append("p", rec(2))
	mustCommit(t, s, &b)
	// Seqs increase; they need not be dense (a store shared by several
	// writers numbers records by its log's sequence).
	first, second := b.Ops[0].Record.Seq, b.Ops[2].Record.Seq
	if first == 0 || second <= first {
		t.Fatalf("seqs = %d, %d; want increasing", first, second)
	}
	if !b.Ops[0].Record.Stored.Equal(at) {
		t.Fatalf("Stored = %v, want %v", b.Ops[0].Record.Stored, at)
	}
	r, err := s.Get(context.Background(), "p", second)
	if err != nil || !r.Stored.Equal(at) || r.ID != "ev-2" {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	if _, err := s.Get(context.Background(), "p", second+1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%d) error = %v, want ErrNotFound", second+1, err)
	}
}

func testAckAndReopenRedelivers(t *testing.T, be Backend) {
	s := be.open(t, nil)
	var q [4]uint64
	for i := range 4 {
		q[i] = appendOne(t, s, "p", rec(i))
	}
	var b store.Batch
	b.Ack("p", q[1])
	b.Ack("p", q[3]+1000) // never queued: no-op
	mustCommit(t, s, &b)
	left := []uint64{q[0], q[2], q[3]}
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, left) {
		t.Fatalf("after ack pending = %v, want %v", got, left)
	}
	s = be.reopen(t, s)
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, left) {
		t.Fatalf("after reopen pending = %v, want %v", got, left)
	}
	// Seqs are never reused, even after the last record is acked.
	var all store.Batch
	for _, seq := range left {
		all.Ack("p", seq)
	}
	mustCommit(t, s, &all)
	if seq := appendOne(t, s, "p", rec(9)); seq <= q[3] {
		t.Fatalf("seq after acking everything = %d, want above %d", seq, q[3])
	}
}

func testUpdatePersistsBookkeeping(t *testing.T, be Backend) {
	s := be.open(t, nil)
	seq := appendOne(t, s, "p", rec(1))
	next := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	var b store.Batch
	// Only bookkeeping changes: a partial record must not wipe the body.
	b.Update("p", store.Record{Seq: seq, Attempts: 3, NextAttempt: next, LastError: "HTTP 503"})
	mustCommit(t, s, &b)
	s = be.reopen(t, s)
	r, err := s.Get(context.Background(), "p", seq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 3 || !r.NextAttempt.Equal(next) || r.LastError != "HTTP 503" || string(r.Body) != `{"n":1}` || r.ID != "ev-1" {
		t.Fatalf("updated record = %+v", r)
	}
	// Updating a record acked meanwhile is a no-op, not an error.
	var ack, upd store.Batch
	ack.Ack("p", seq)
	mustCommit(t, s, &ack)
	upd.Update("p", store.Record{Seq: seq, Attempts: 4})
	mustCommit(t, s, &upd)
	if _, err := s.Get(context.Background(), "p", seq); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update resurrected acked record: %v", err)
	}
	if st := stats(t, s, "p"); st.Queued != 0 {
		t.Fatalf("queued = %d, want 0", st.Queued)
	}
}

func testDeadLetterMovesAtomically(t *testing.T, be Backend) {
	s := be.open(t, nil)
	seq := appendOne(t, s, "p", rec(1))
	seq2 := appendOne(t, s, "p", rec(2))
	var b store.Batch
	b.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: seq, ID: "ev-1", Body: []byte(`{"n":1}`), Attempts: 5}, Stage: "deliver", Status: 400, Error: "bad request", Response: "nope"})
	mustCommit(t, s, &b)
	if b.Ops[0].Dead.Seq != seq || b.Ops[0].Dead.Died.IsZero() {
		t.Fatalf("filled dead letter = %+v; want Seq %d and Died set", b.Ops[0].Dead, seq)
	}
	s = be.reopen(t, s)
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, []uint64{seq2}) {
		t.Fatalf("pending = %v, want [%d]", got, seq2)
	}
	d, err := s.DeadLetter(context.Background(), "p", seq)
	if err != nil || d.Seq != seq || d.Status != 400 || d.Stage != "deliver" || d.Response != "nope" || d.Attempts != 5 || string(d.Body) != `{"n":1}` {
		t.Fatalf("DeadLetter = %+v, %v", d, err)
	}
	if st := stats(t, s, "p"); st.Queued != 1 || st.DeadLetters != 1 {
		t.Fatalf("stats = %+v, want 1 queued 1 dead", st)
	}
	// The queued copy is authoritative: a worker sending only Seq and its
	// bookkeeping loses no content.
	var bare store.Batch
	bare.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: seq2, Attempts: 8}, Stage: "deliver", Error: "retries exhausted"})
	mustCommit(t, s, &bare)
	d2, err := s.DeadLetter(context.Background(), "p", seq2)
	if err != nil || d2.ID != "ev-2" || d2.Key != rec(2).Key || string(d2.Body) != `{"n":2}` || d2.Stored.IsZero() || d2.Attempts != 8 {
		t.Fatalf("dead letter from bare op = %+v, %v", d2, err)
	}
}

func testTransformDeadLetterNumbering(t *testing.T, be Backend) {
	s := be.open(t, nil)
	q1 := appendOne(t, s, "p", rec(1))
	var b store.Batch
	b.DeadLetter("p", store.DeadLetter{Record: store.Record{ID: "raw", Body: []byte(`{"bad":true}`)}, Stage: "transform", Error: "jq: boom"})
	mustCommit(t, s, &b)
	d1 := b.Ops[0].Dead.Seq
	q2 := appendOne(t, s, "p", rec(2))
	if !(q1 < d1 && d1 < q2) {
		t.Fatalf("queue %d, transform dead letter %d, queue %d: want one increasing sequence", q1, d1, q2)
	}
	// The queue's record is untouched by the transform dead letter.
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, []uint64{q1, q2}) {
		t.Fatalf("pending = %v", got)
	}
	dls, err := s.DeadLetters(context.Background(), "p", 0, 10)
	if err != nil || len(dls) != 1 || dls[0].Seq != d1 || dls[0].Stage != "transform" {
		t.Fatalf("DeadLetters = %+v, %v", dls, err)
	}
	// A dead letter may not claim a number the pipeline never handed out.
	var bad store.Batch
	bad.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: q2 + 10}, Stage: "deliver"})
	if err := s.Commit(context.Background(), &bad); !errors.Is(err, store.ErrInvalidOp) {
		t.Fatalf("dead letter with future seq: err = %v, want ErrInvalidOp", err)
	}
}

func testReplayAndPurge(t *testing.T, be Backend) {
	s := be.open(t, nil)
	var dead []uint64
	for i := range 4 {
		seq := appendOne(t, s, "p", rec(i))
		var b store.Batch
		b.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: seq, ID: rec(i).ID, Body: rec(i).Body}, Stage: "deliver", Error: "x"})
		mustCommit(t, s, &b)
		dead = append(dead, seq)
	}
	// Replay dead letter 0: re-append and drop in one batch.
	d, err := s.DeadLetter(context.Background(), "p", dead[0])
	if err != nil {
		t.Fatal(err)
	}
	var replay store.Batch
	replay.Append("p", d.Record)
	replay.DropDeadLetter("p", d.Seq)
	mustCommit(t, s, &replay)
	newSeq := replay.Ops[0].Record.Seq
	if newSeq <= dead[3] {
		t.Fatalf("replayed seq %d not fresh", newSeq)
	}
	r, err := s.Get(context.Background(), "p", newSeq)
	if err != nil || !bytes.Equal(r.Body, rec(0).Body) {
		t.Fatalf("replayed record = %+v, %v", r, err)
	}
	if _, err := s.DeadLetter(context.Background(), "p", dead[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replayed dead letter still there: %v", err)
	}
	n, err := s.PurgeDeadLetters(context.Background(), "p", dead[1], dead[1], 12345)
	if err != nil || n != 1 {
		t.Fatalf("purge one = %d, %v; want 1", n, err)
	}
	s = be.reopen(t, s)
	if st := stats(t, s, "p"); st.DeadLetters != 2 || st.Queued != 1 {
		t.Fatalf("stats = %+v, want 2 dead 1 queued", st)
	}
	n, err = s.PurgeDeadLetters(context.Background(), "p")
	if err != nil || n != 2 {
		t.Fatalf("purge all = %d, %v; want 2", n, err)
	}
	if dls, err := s.DeadLetters(context.Background(), "p", 0, 10); err != nil || len(dls) != 0 {
		t.Fatalf("after purge DeadLetters = %v, %v", dls, err)
	}
	// Dead-lettering still works after the bucket was recreated.
	var b store.Batch
	b.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: newSeq}, Stage: "deliver"})
	mustCommit(t, s, &b)
	if st := stats(t, s, "p"); st.DeadLetters != 1 || st.Queued != 0 {
		t.Fatalf("stats = %+v, want 1 dead 0 queued", st)
	}
	if n, err := s.PurgeDeadLetters(context.Background(), "nobody"); err != nil || n != 0 {
		t.Fatalf("purge unknown pipeline = %d, %v", n, err)
	}
}

func testKeyValue(t *testing.T, be Backend) {
	s := be.open(t, nil)
	ctx := context.Background()
	var b store.Batch
	b.Put("p", "cursor", []byte("2024-01-01"))
	b.Put("p", "seen/2", []byte("b"))
	b.Put("p", "seen/1", []byte("a"))
	b.Put("p", "seen0", []byte("not in prefix"))
	b.Put("q", "cursor", []byte("other"))
	mustCommit(t, s, &b)
	if v, err := s.Value(ctx, "p", "cursor"); err != nil || string(v) != "2024-01-01" {
		t.Fatalf("Value = %q, %v", v, err)
	}
	var keys []string
	if err := s.Scan(ctx, "p", "seen/", func(k string, v []byte) bool {
		keys = append(keys, k+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"seen/1=a", "seen/2=b"}) {
		t.Fatalf("Scan = %v", keys)
	}
	keys = nil
	s.Scan(ctx, "p", "", func(k string, v []byte) bool { keys = append(keys, k); return len(keys) < 2 })
	if len(keys) != 2 {
		t.Fatalf("Scan did not stop when fn returned false: %v", keys)
	}
	// A long scan notices its context ending.
	var many store.Batch
	for i := range 600 {
		many.Put("p", fmt.Sprintf("m/%03d", i), nil)
	}
	mustCommit(t, s, &many)
	cctx, cancel := context.WithCancel(ctx)
	calls := 0
	err := s.Scan(cctx, "p", "m/", func(string, []byte) bool { calls++; cancel(); return true })
	if !errors.Is(err, context.Canceled) || calls >= 600 {
		t.Fatalf("cancelled Scan = %v after %d calls", err, calls)
	}
	var del store.Batch
	del.Delete("p", "cursor")
	del.Delete("nobody", "x") // must not create a pipeline
	mustCommit(t, s, &del)
	if _, err := s.Value(ctx, "p", "cursor"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted Value error = %v", err)
	}
	if v, _ := s.Value(ctx, "q", "cursor"); string(v) != "other" {
		t.Fatalf("pipeline q's key changed: %q", v)
	}
	if names, _ := s.Pipelines(ctx); !slices.Equal(names, []string{"p", "q"}) {
		t.Fatalf("Pipelines = %v", names)
	}
}

func testPutIfAbsentSeesOwnBatch(t *testing.T, be Backend) {
	s := be.open(t, nil)
	var b store.Batch
	b.Put("p", "k", []byte("1"))
	b.PutIfAbsent("p", "k", []byte("2"))
	b.Append("p", rec(1))
	if err := s.Commit(context.Background(), &b); !errors.Is(err, store.ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if _, err := s.Value(context.Background(), "p", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rejected batch wrote its Put: %v", err)
	}
	if st := stats(t, s, "p"); st.Queued != 0 {
		t.Fatalf("rejected batch appended: %+v", st)
	}
	var ok store.Batch
	ok.Put("p", "k", []byte("1"))
	ok.Delete("p", "k")
	ok.PutIfAbsent("p", "k", []byte("3"))
	mustCommit(t, s, &ok)
	if v, _ := s.Value(context.Background(), "p", "k"); string(v) != "3" {
		t.Fatalf("value = %q, want 3", v)
	}
}

func testInvalidOps(t *testing.T, be Backend) {
	s := be.open(t, nil)
	cases := map[string]store.Op{
		"unknown kind":  {Kind: 99, Pipeline: "p"},
		"no pipeline":   {Kind: store.OpAppend},
		"empty key":     {Kind: store.OpPut, Pipeline: "p"},
		"ack seq 0":     {Kind: store.OpAck, Pipeline: "p"},
		"update seq 0":  {Kind: store.OpUpdate, Pipeline: "p"},
		"drop dead 0":   {Kind: store.OpDropDead, Pipeline: "p"},
		"huge key":      {Kind: store.OpDelete, Pipeline: "p", Key: string(make([]byte, 40000))},
		"huge pipeline": {Kind: store.OpAppend, Pipeline: string(make([]byte, 40000))},
	}
	for name, op := range cases {
		t.Run(name, func(t *testing.T) {
			b := store.Batch{Ops: []store.Op{{Kind: store.OpAppend, Pipeline: "p", Record: rec(1)}, op}}
			if err := s.Commit(context.Background(), &b); !errors.Is(err, store.ErrInvalidOp) {
				t.Fatalf("err = %v, want ErrInvalidOp", err)
			}
		})
	}
	if names, _ := s.Pipelines(context.Background()); len(names) != 0 {
		t.Fatalf("invalid batches left state: %v", names)
	}
}

func testStatsExactAfterMixAndReopen(t *testing.T, be Backend) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := at
	s := be.open(t, func() time.Time { return clock })
	ctx := context.Background()
	queued := map[uint64]bool{}
	dead := map[uint64]bool{}
	check := func(s store.Store) {
		t.Helper()
		st := stats(t, s, "p")
		if st.Queued != len(queued) || st.DeadLetters != len(dead) {
			t.Fatalf("stats = %+v, want %d queued %d dead", st, len(queued), len(dead))
		}
		if len(queued) > 0 {
			oldest := slices.Min(slices.Collect(mapKeys(queued)))
			r, err := s.Get(ctx, "p", oldest)
			if err != nil || !st.OldestQueue.Equal(r.Stored) {
				t.Fatalf("oldest = %v, want %v (%v)", st.OldestQueue, r.Stored, err)
			}
		} else if !st.OldestQueue.IsZero() {
			t.Fatalf("oldest = %v with empty queue", st.OldestQueue)
		}
	}
	for round := range 30 {
		clock = at.Add(time.Duration(round) * time.Minute)
		var b store.Batch
		for i := range 3 {
			b.Append("p", rec(round*3+i))
		}
		mustCommit(t, s, &b)
		for _, op := range b.Ops {
			queued[op.Record.Seq] = true
		}
		var mix store.Batch
		switch round % 5 {
		case 0: // ack the oldest, twice in one batch
			q := slices.Min(slices.Collect(mapKeys(queued)))
			mix.Ack("p", q)
			mix.Ack("p", q)
			delete(queued, q)
		case 1: // dead-letter a queued one, and the same one again
			q := slices.Max(slices.Collect(mapKeys(queued)))
			mix.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: q}, Stage: "deliver"})
			mix.DeadLetter("p", store.DeadLetter{Record: store.Record{Seq: q}, Stage: "deliver"})
			delete(queued, q)
			dead[q] = true
		case 2: // transform dead letter + drop a dead letter that is not there
			mix.DeadLetter("p", store.DeadLetter{Stage: "transform"})
			mix.DropDeadLetter("p", 1_000_000)
		case 3: // replay one dead letter
			if len(dead) > 0 {
				d := slices.Min(slices.Collect(mapKeys(dead)))
				mix.Append("p", rec(int(d)))
				mix.DropDeadLetter("p", d)
				delete(dead, d)
			}
		case 4: // ack something already gone, update something queued
			mix.Ack("p", 999_999)
			mix.Update("p", store.Record{Seq: slices.Max(slices.Collect(mapKeys(queued))), Attempts: 1})
		}
		if len(mix.Ops) == 0 {
			continue
		}
		mustCommit(t, s, &mix)
		for _, op := range mix.Ops {
			switch {
			case op.Kind == store.OpAppend:
				queued[op.Record.Seq] = true
			case op.Kind == store.OpDeadLetter && op.Dead.Stage == "transform":
				dead[op.Dead.Seq] = true
			}
		}
		check(s)
		if round%10 == 9 {
			s = be.reopen(t, s)
			check(s)
		}
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func testClosed(t *testing.T, be Backend) {
	s := be.open(t, nil)
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	b.Append("p", rec(1))
	checks := map[string]error{
		"Commit":  s.Commit(ctx, &b),
		"Close":   s.Close(),
		"Pending": func() error { _, err := s.Pending(ctx, "p", 0, 1); return err }(),
		"Stats":   func() error { _, err := s.Stats(ctx, "p"); return err }(),
		"Purge":   func() error { _, err := s.PurgeDeadLetters(ctx, "p"); return err }(),
		"Value":   func() error { _, err := s.Value(ctx, "p", "k"); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func testPutIfAbsentConcurrent(t *testing.T, be Backend) {
	s := be.open(t, nil)
	const racers, bystanders = 50, 50
	var wg sync.WaitGroup
	errs := make([]error, racers)
	batches := make([]*store.Batch, racers)
	start := make(chan struct{})
	for i := range racers {
		b := &store.Batch{}
		b.PutIfAbsent("hook", "seen/notif-1", []byte(fmt.Sprint(i)))
		b.Append("hook", store.Record{ID: fmt.Sprintf("racer-%d", i), Body: []byte(fmt.Sprint(i))})
		batches[i] = b
		wg.Go(func() {
			<-start
			errs[i] = s.Commit(context.Background(), b)
		})
	}
	byErrs := make([]error, bystanders)
	for i := range bystanders {
		wg.Go(func() {
			<-start
			var b store.Batch
			b.PutIfAbsent("hook", fmt.Sprintf("seen/other-%d", i), []byte("x"))
			b.Append("hook", store.Record{ID: fmt.Sprintf("bystander-%d", i)})
			byErrs[i] = s.Commit(context.Background(), &b)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("racers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrExists):
			t.Fatalf("racer %d err = %v, want ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no racer won")
	}
	if err := errors.Join(byErrs...); err != nil {
		t.Fatalf("bystanders failed: %v", err)
	}
	v, err := s.Value(context.Background(), "hook", "seen/notif-1")
	if err != nil || string(v) != fmt.Sprint(winner) {
		t.Fatalf("key = %q, %v; want winner %d", v, err, winner)
	}
	rs := pending(t, s, "hook")
	racersStored := 0
	for _, r := range rs {
		if len(r.ID) > 6 && r.ID[:6] == "racer-" {
			racersStored++
			if r.ID != fmt.Sprintf("racer-%d", winner) || r.Seq != batches[winner].Ops[1].Record.Seq {
				t.Fatalf("losing racer's append stored: %+v", r)
			}
		}
	}
	if racersStored != 1 || len(rs) != 1+bystanders {
		t.Fatalf("stored %d racer and %d total records, want 1 and %d", racersStored, len(rs), 1+bystanders)
	}
	if st := stats(t, s, "hook"); st.Queued != len(rs) {
		t.Fatalf("queued counter = %d, want %d", st.Queued, len(rs))
	}
}
