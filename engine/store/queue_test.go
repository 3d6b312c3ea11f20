package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func rec(i int) Record {
	return Record{ID: fmt.Sprintf("ev-%d", i), Key: fmt.Sprintf("obj-%d", i%3), Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

func TestFIFOAndIsolation(t *testing.T) {
	s, _ := openTemp(t)
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

func TestAppendFillsBatch(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	s, _ := openTemp(t, WithClock(func() time.Time { return at }))
	var b Batch
	b.Append("p", rec(1))
	b.Put("p", "cursor", []byte("c1"))
	b.Append("p", rec(2))
	mustCommit(t, s, &b)
	if b.Ops[0].Record.Seq != 1 || b.Ops[2].Record.Seq != 2 {
		t.Fatalf("seqs = %d, %d; want 1, 2", b.Ops[0].Record.Seq, b.Ops[2].Record.Seq)
	}
	if !b.Ops[0].Record.Stored.Equal(at) {
		t.Fatalf("Stored = %v, want %v", b.Ops[0].Record.Stored, at)
	}
	r, err := s.Get(context.Background(), "p", 2)
	if err != nil || !r.Stored.Equal(at) || r.ID != "ev-2" {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	if _, err := s.Get(context.Background(), "p", 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(3) error = %v, want ErrNotFound", err)
	}
}

func TestAckAndReopenRedelivers(t *testing.T) {
	s, path := openTemp(t)
	for i := range 4 {
		appendOne(t, s, "p", rec(i))
	}
	var b Batch
	b.Ack("p", 2)
	b.Ack("p", 99) // never queued: no-op
	mustCommit(t, s, &b)
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, []uint64{1, 3, 4}) {
		t.Fatalf("after ack pending = %v", got)
	}
	s = reopen(t, s, path)
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, []uint64{1, 3, 4}) {
		t.Fatalf("after reopen pending = %v", got)
	}
	// Seqs are never reused, even after the last record is acked.
	var all Batch
	for _, q := range []uint64{1, 3, 4} {
		all.Ack("p", q)
	}
	mustCommit(t, s, &all)
	if q := appendOne(t, s, "p", rec(9)); q != 5 {
		t.Fatalf("seq after acking everything = %d, want 5", q)
	}
}

func TestUpdatePersistsBookkeeping(t *testing.T) {
	s, path := openTemp(t)
	seq := appendOne(t, s, "p", rec(1))
	next := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	var b Batch
	// Only bookkeeping changes: a partial record must not wipe the body.
	b.Update("p", Record{Seq: seq, Attempts: 3, NextAttempt: next, LastError: "HTTP 503"})
	mustCommit(t, s, &b)
	s = reopen(t, s, path)
	r, err := s.Get(context.Background(), "p", seq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 3 || !r.NextAttempt.Equal(next) || r.LastError != "HTTP 503" || string(r.Body) != `{"n":1}` || r.ID != "ev-1" {
		t.Fatalf("updated record = %+v", r)
	}
	// Updating a record acked meanwhile is a no-op, not an error.
	var ack, upd Batch
	ack.Ack("p", seq)
	mustCommit(t, s, &ack)
	upd.Update("p", Record{Seq: seq, Attempts: 4})
	mustCommit(t, s, &upd)
	if _, err := s.Get(context.Background(), "p", seq); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update resurrected acked record: %v", err)
	}
	if st := stats(t, s, "p"); st.Queued != 0 {
		t.Fatalf("queued = %d, want 0", st.Queued)
	}
}

func TestDeadLetterMovesAtomically(t *testing.T) {
	s, path := openTemp(t)
	seq := appendOne(t, s, "p", rec(1))
	appendOne(t, s, "p", rec(2))
	var b Batch
	b.DeadLetter("p", DeadLetter{Record: Record{Seq: seq, ID: "ev-1", Body: []byte(`{"n":1}`), Attempts: 5}, Stage: "deliver", Status: 400, Error: "bad request", Response: "nope"})
	mustCommit(t, s, &b)
	if b.Ops[0].Dead.Seq != seq || b.Ops[0].Dead.Died.IsZero() {
		t.Fatalf("filled dead letter = %+v; want Seq %d and Died set", b.Ops[0].Dead, seq)
	}
	s = reopen(t, s, path)
	if got := seqs(pending(t, s, "p")); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("pending = %v, want [2]", got)
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
	var bare Batch
	bare.DeadLetter("p", DeadLetter{Record: Record{Seq: 2, Attempts: 8}, Stage: "deliver", Error: "retries exhausted"})
	mustCommit(t, s, &bare)
	d2, err := s.DeadLetter(context.Background(), "p", 2)
	if err != nil || d2.ID != "ev-2" || d2.Key != rec(2).Key || string(d2.Body) != `{"n":2}` || d2.Stored.IsZero() || d2.Attempts != 8 {
		t.Fatalf("dead letter from bare op = %+v, %v", d2, err)
	}
}

func TestTransformDeadLetterNumbering(t *testing.T) {
	s, _ := openTemp(t)
	q1 := appendOne(t, s, "p", rec(1))
	var b Batch
	b.DeadLetter("p", DeadLetter{Record: Record{ID: "raw", Body: []byte(`{"bad":true}`)}, Stage: "transform", Error: "jq: boom"})
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
	var bad Batch
	bad.DeadLetter("p", DeadLetter{Record: Record{Seq: q2 + 10}, Stage: "deliver"})
	if err := s.Commit(context.Background(), &bad); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("dead letter with future seq: err = %v, want ErrInvalidOp", err)
	}
}

func TestReplayAndPurge(t *testing.T) {
	s, path := openTemp(t)
	var dead []uint64
	for i := range 4 {
		seq := appendOne(t, s, "p", rec(i))
		var b Batch
		b.DeadLetter("p", DeadLetter{Record: Record{Seq: seq, ID: rec(i).ID, Body: rec(i).Body}, Stage: "deliver", Error: "x"})
		mustCommit(t, s, &b)
		dead = append(dead, seq)
	}
	// Replay dead letter 0: re-append and drop in one batch.
	d, err := s.DeadLetter(context.Background(), "p", dead[0])
	if err != nil {
		t.Fatal(err)
	}
	var replay Batch
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
	if _, err := s.DeadLetter(context.Background(), "p", dead[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replayed dead letter still there: %v", err)
	}
	n, err := s.PurgeDeadLetters(context.Background(), "p", dead[1], dead[1], 12345)
	if err != nil || n != 1 {
		t.Fatalf("purge one = %d, %v; want 1", n, err)
	}
	s = reopen(t, s, path)
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
	var b Batch
	b.DeadLetter("p", DeadLetter{Record: Record{Seq: newSeq}, Stage: "deliver"})
	mustCommit(t, s, &b)
	if st := stats(t, s, "p"); st.DeadLetters != 1 || st.Queued != 0 {
		t.Fatalf("stats = %+v, want 1 dead 0 queued", st)
	}
	if n, err := s.PurgeDeadLetters(context.Background(), "nobody"); err != nil || n != 0 {
		t.Fatalf("purge unknown pipeline = %d, %v", n, err)
	}
}

func TestKeyValue(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var b Batch
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
	var many Batch
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
	var del Batch
	del.Delete("p", "cursor")
	del.Delete("nobody", "x") // must not create a pipeline
	mustCommit(t, s, &del)
	if _, err := s.Value(ctx, "p", "cursor"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted Value error = %v", err)
	}
	if v, _ := s.Value(ctx, "q", "cursor"); string(v) != "other" {
		t.Fatalf("pipeline q's key changed: %q", v)
	}
	if names, _ := s.Pipelines(ctx); !slices.Equal(names, []string{"p", "q"}) {
		t.Fatalf("Pipelines = %v", names)
	}
}

func TestPutIfAbsentSeesOwnBatch(t *testing.T) {
	s, _ := openTemp(t)
	var b Batch
	b.Put("p", "k", []byte("1"))
	b.PutIfAbsent("p", "k", []byte("2"))
	b.Append("p", rec(1))
	if err := s.Commit(context.Background(), &b); !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if _, err := s.Value(context.Background(), "p", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected batch wrote its Put: %v", err)
	}
	if st := stats(t, s, "p"); st.Queued != 0 {
		t.Fatalf("rejected batch appended: %+v", st)
	}
	var ok Batch
	ok.Put("p", "k", []byte("1"))
	ok.Delete("p", "k")
	ok.PutIfAbsent("p", "k", []byte("3"))
	mustCommit(t, s, &ok)
	if v, _ := s.Value(context.Background(), "p", "k"); string(v) != "3" {
		t.Fatalf("value = %q, want 3", v)
	}
}

func TestInvalidOps(t *testing.T) {
	s, _ := openTemp(t)
	cases := map[string]Op{
		"unknown kind":  {Kind: 99, Pipeline: "p"},
		"no pipeline":   {Kind: OpAppend},
		"empty key":     {Kind: OpPut, Pipeline: "p"},
		"ack seq 0":     {Kind: OpAck, Pipeline: "p"},
		"update seq 0":  {Kind: OpUpdate, Pipeline: "p"},
		"drop dead 0":   {Kind: OpDropDead, Pipeline: "p"},
		"huge key":      {Kind: OpDelete, Pipeline: "p", Key: string(make([]byte, 40000))},
		"huge pipeline": {Kind: OpAppend, Pipeline: string(make([]byte, 40000))},
	}
	for name, op := range cases {
		t.Run(name, func(t *testing.T) {
			b := Batch{Ops: []Op{{Kind: OpAppend, Pipeline: "p", Record: rec(1)}, op}}
			if err := s.Commit(context.Background(), &b); !errors.Is(err, ErrInvalidOp) {
				t.Fatalf("err = %v, want ErrInvalidOp", err)
			}
		})
	}
	if names, _ := s.Pipelines(context.Background()); len(names) != 0 {
		t.Fatalf("invalid batches left state: %v", names)
	}
}

func TestStatsExactAfterMixAndReopen(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := at
	s, path := openTemp(t, WithClock(func() time.Time { return clock }))
	ctx := context.Background()
	queued := map[uint64]bool{}
	dead := map[uint64]bool{}
	check := func(s *Bolt) {
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
		var b Batch
		for i := range 3 {
			b.Append("p", rec(round*3+i))
		}
		mustCommit(t, s, &b)
		for _, op := range b.Ops {
			queued[op.Record.Seq] = true
		}
		var mix Batch
		switch round % 5 {
		case 0: // ack the oldest, twice in one batch
			q := slices.Min(slices.Collect(mapKeys(queued)))
			mix.Ack("p", q)
			mix.Ack("p", q)
			delete(queued, q)
		case 1: // dead-letter a queued one, and the same one again
			q := slices.Max(slices.Collect(mapKeys(queued)))
			mix.DeadLetter("p", DeadLetter{Record: Record{Seq: q}, Stage: "deliver"})
			mix.DeadLetter("p", DeadLetter{Record: Record{Seq: q}, Stage: "deliver"})
			delete(queued, q)
			dead[q] = true
		case 2: // transform dead letter + drop a dead letter that is not there
			mix.DeadLetter("p", DeadLetter{Stage: "transform"})
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
			mix.Update("p", Record{Seq: slices.Max(slices.Collect(mapKeys(queued))), Attempts: 1})
		}
		if len(mix.Ops) == 0 {
			continue
		}
		mustCommit(t, s, &mix)
		for _, op := range mix.Ops {
			switch {
			case op.Kind == OpAppend:
				queued[op.Record.Seq] = true
			case op.Kind == OpDeadLetter && op.Dead.Stage == "transform":
				dead[op.Dead.Seq] = true
			}
		}
		check(s)
		if round%10 == 9 {
			s = reopen(t, s, path)
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

func TestClosed(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var b Batch
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
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}
