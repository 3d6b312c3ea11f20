package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// copyDataDir copies the store file and its log segments of path into a
// fresh directory: what a crash at this moment would leave on disk (every
// byte of them was synced before the commits that wrote it returned).
func copyDataDir(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "connectord.db")
	files, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + strings.TrimPrefix(f, path))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}

func reopen(t *testing.T, path string) *Bolt {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// bigRec has a body above the checkpoint trigger of the tests that use it.
func bigRec(id string) Record {
	return Record{ID: id, Body: bytes.Repeat([]byte("b"), 600<<10)}
}

func TestAckedBeforeCheckpointNeverReachesBolt(t *testing.T) {
	s, _ := openTemp(t)
	kept := appendOne(t, s, "p", rec(1))
	gone := appendOne(t, s, "p", rec(2))
	var b Batch
	b.Ack("p", gone)
	mustCommit(t, s, &b)
	if _, in := s.ov.pipes["p"].sp[spaceQueue].m[string(seqKey(gone))]; in {
		t.Fatal("the overlay still holds an append acked before any checkpoint")
	}
	for _, w := range s.ov.snapshot(s.log.gen) {
		if w.space == spaceQueue && w.key == string(seqKey(gone)) {
			t.Fatalf("a checkpoint would write the acked record: %+v", w)
		}
	}
	if err := s.db.View(func(*bolt.Tx) error { return nil }); err != nil { // checkpoints
		t.Fatal(err)
	}
	if got := seqs(pending(t, s, "p")); len(got) != 1 || got[0] != kept {
		t.Fatalf("pending %v after checkpoint, want [%d]", got, kept)
	}
	if len(s.ov.pipes) != 0 || s.Checkpoints() == 0 {
		t.Fatalf("after a checkpoint: overlay %d pipelines, %d checkpoints", len(s.ov.pipes), s.Checkpoints())
	}
}

func TestBackgroundCheckpoint(t *testing.T) {
	s, path := openTemp(t, withCheckpoints(512<<10, 64<<20, time.Hour))
	seq := appendOne(t, s, "p", bigRec("big"))
	waitFor(t, "a checkpoint", func() bool { return s.Checkpoints() == 1 })
	r, err := s.Get(context.Background(), "p", seq)
	if err != nil || r.ID != "big" {
		t.Fatalf("Get after checkpoint: %+v, %v", r.ID, err)
	}
	gens, err := segments(path)
	if err != nil || len(gens) != 1 || gens[0] != 2 {
		t.Fatalf("segments %v, %v; want only the new one, 2", gens, err)
	}
}

// A crash after a checkpoint's bbolt transaction and before it removed its
// segment: Open must not apply that segment again, and must replay the
// newer one, in which a key and a record the checkpoint wrote are deleted.
func TestRecoveryAfterCrashBeforeLogRemoval(t *testing.T) {
	s, path := openTemp(t, withCheckpoints(512<<10, 64<<20, time.Hour))
	entered, release := make(chan uint64), make(chan struct{})
	s.testHookCheckpointed = func(gen uint64) {
		entered <- gen
		<-release
	}
	var a Batch
	a.Put("p", "k", []byte("v1"))
	a.Append("p", rec(1))
	a.Append("p", bigRec("big")) // over the trigger: a checkpoint starts
	mustCommit(t, s, &a)
	r1, big := a.Ops[1].Record.Seq, a.Ops[2].Record.Seq
	if gen := <-entered; gen != 1 {
		t.Fatalf("checkpointed generation %d, want 1", gen)
	}
	var b Batch
	b.Delete("p", "k")
	b.Ack("p", r1)
	b.Append("p", rec(2))
	mustCommit(t, s, &b)
	image := copyDataDir(t, path)
	s.testHookCheckpointed = nil
	close(release)

	s2 := reopen(t, image)
	ctx := context.Background()
	if _, err := s2.Value(ctx, "p", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key deleted after the checkpoint: %v", err)
	}
	got := seqs(pending(t, s2, "p"))
	if want := []uint64{big, b.Ops[2].Record.Seq}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	if st := stats(t, s2, "p"); st.Queued != 2 {
		t.Fatalf("queued %d, want 2", st.Queued)
	}
	if gens, _ := segments(image); len(gens) != 1 || gens[0] != 3 {
		t.Fatalf("segments after recovery %v, want only the new 3", gens)
	}
}

// A data dir copied while nothing was checkpointed: bbolt has nothing,
// the log everything; a half-written last frame is dropped.
func TestRecoveryDropsTornTail(t *testing.T) {
	for _, tail := range map[string][]byte{
		"cut frame":    frame([]byte("a whole payload"))[:frameHeader+8],
		"cut header":   {200, 0},
		"zeros":        make([]byte, 4096),
		"bad last crc": append(frame([]byte("xyz"))[:frameHeader], 'x', 'y', 'Z'),
	} {
		s, path := openTemp(t)
		seq := appendOne(t, s, "p", rec(1))
		image := copyDataDir(t, path)
		f, err := os.OpenFile(segmentPath(image, 1), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(tail)
		f.Close()
		s2 := reopen(t, image)
		if r, err := s2.Get(context.Background(), "p", seq); err != nil || r.ID != rec(1).ID {
			t.Fatalf("acknowledged record after a torn tail: %+v, %v", r, err)
		}
		if seq2 := appendOne(t, s2, "p", rec(2)); seq2 != seq+1 {
			t.Fatalf("next seq %d, want %d", seq2, seq+1)
		}
	}
}

// frame is payload framed as appendFrame writes it.
func frame(payload []byte) []byte {
	f := append(make([]byte, frameHeader), payload...)
	sealFrame(f)
	return f
}

func TestRecoveryRefusesCorruptFrame(t *testing.T) {
	s, path := openTemp(t)
	appendOne(t, s, "p", rec(1))
	appendOne(t, s, "p", rec(2))
	image := copyDataDir(t, path)
	seg := segmentPath(image, 1)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func([]byte){
		"payload": func(d []byte) { d[frameHeader+3] ^= 0xff },
		// A length that reaches past the end would pass for a torn write
		// without the header's own checksum.
		"length": func(d []byte) { d[2] = 0x7f },
	} {
		bad := slices.Clone(data)
		damage(bad)
		if err := os.WriteFile(seg, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = Open(image)
		if !errors.Is(err, errCorruptLog) || !strings.Contains(err.Error(), seg) || !strings.Contains(err.Error(), "offset 0 ") {
			t.Fatalf("%s: Open with a corrupt first frame: %v; want errCorruptLog naming %s and offset 0", name, err, seg)
		}
	}
}

// A store file from before the log (no log bucket, no segments) opens as
// it is; Close leaves a bbolt-only directory again.
func TestOpenStoreFromBeforeTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connectord.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Record{ID: "old", Body: []byte(`{"v":1}`), Stored: time.Unix(1700000000, 0).UTC()}
	err = db.Update(func(tx *bolt.Tx) error {
		p, err := createPipeline(tx, "p")
		if err != nil {
			return err
		}
		seq, _ := p.root.NextSequence()
		if err := p.queue.Put(seqKey(seq), encodeRecord(&r)); err != nil {
			return err
		}
		if err := p.kv.Put([]byte("cursor"), []byte("42")); err != nil {
			return err
		}
		return p.setCounter(keyQueued, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, err := s.Get(ctx, "p", 1); err != nil || got.ID != "old" || !got.Stored.Equal(r.Stored) {
		t.Fatalf("old record: %+v, %v", got, err)
	}
	if v, err := s.Value(ctx, "p", "cursor"); err != nil || string(v) != "42" {
		t.Fatalf("old key: %q, %v", v, err)
	}
	if seq := appendOne(t, s, "p", rec(2)); seq != 2 {
		t.Fatalf("new seq %d, want 2", seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if gens, err := segments(path); err != nil || len(gens) != 0 {
		t.Fatalf("segments after Close: %v, %v; want none", gens, err)
	}
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		p, _ := readPipeline(tx, "p")
		if n := p.queue.Stats().KeyN; n != 2 || p.counter(keyQueued) != 2 {
			return fmt.Errorf("bbolt alone holds %d records, counter %d; want 2", n, p.counter(keyQueued))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The crash test again, with the child checkpointing every 64 KiB and
// 20 ms, so kills land before, during and after checkpoints.
func TestCrashSafetyCheckpointing(t *testing.T) {
	t.Setenv(ckptMemEnv, "65536")
	dir := t.TempDir()
	acked := map[uint64]uint64{}
	deleted := map[uint64]bool{}
	for round := range 4 {
		runCrashChild(t, dir, uint64(round)*1_000_000, 200+round*150, acked, deleted)
		verifyCrashStore(t, dir, acked, deleted)
	}
	var applied uint64
	db, err := bolt.Open(filepath.Join(dir, "connectord.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error { applied = appliedGen(tx); return nil })
	if applied < 8 {
		t.Fatalf("applied generation %d after 4 rounds: the children hardly checkpointed", applied)
	}
}

// After a failed append (a full disk) the segment is cut back to its last
// synced frame, and the next frame follows it as if nothing happened.
func TestSegmentRollbackAfterFailedAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connectord.db")
	g, err := createSegment(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if err := g.appendFrame(frame([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	if _, err := g.f.Write(frame([]byte("half written"))[:15]); err != nil { // what a failed write leaves
		t.Fatal(err)
	}
	if err := g.rollback(); err != nil {
		t.Fatal(err)
	}
	if err := g.appendFrame(frame([]byte("two"))); err != nil {
		t.Fatal(err)
	}
	payloads, torn, err := readSegment(segmentPath(path, 1), false)
	if err != nil || torn != -1 || len(payloads) != 2 || string(payloads[1]) != "two" {
		t.Fatalf("segment after rollback: %q, torn %d, %v", payloads, torn, err)
	}
}
