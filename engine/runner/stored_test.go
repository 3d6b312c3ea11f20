package runner

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/connectord/connectord/engine/store"
)

// TestStoredSignalSkipsOnlyWhatWasRead: a wake asks for a queue read only
// when something beyond what was read was appended, or when the Seq is
// unknown (replay, or a store that does not report it).
func TestStoredSignalSkipsOnlyWhatWasRead(t *testing.T) {
	s := newStoredSignal()
	s.Appended(7)
	s.Appended(5) // a smaller Seq committing later never lowers it
	if !s.unread(6) || s.unread(7) || s.unread(9) {
		t.Fatal("with Seq 7 appended: want a read after 6, none after 7 or 9")
	}
	s.Appended(0)
	if !s.unread(9) {
		t.Fatal("an unknown Seq must force a read")
	}
	if s.unread(9) {
		t.Fatal("the forced read is asked once")
	}
	if got := len(s.c); got != 1 {
		t.Fatalf("%d signals pending, want 1 (they coalesce)", got)
	}
}

// TestBoltReportsAppendedSeqs: the bbolt store fills in appended Seqs, so
// the deliverer's skip is in effect there (without them every wake reads).
func TestBoltReportsAppendedSeqs(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var last uint64
	for range 2 {
		var b store.Batch
		b.Append("p", store.Record{ID: "a", Body: []byte(`{}`)})
		b.Append("p", store.Record{ID: "b", Body: []byte(`{}`)})
		if err := st.Commit(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		got := maxAppended(&b)
		if got == 0 || got <= last || got != b.Ops[1].Record.Seq {
			t.Fatalf("maxAppended = %d after %d, want the batch's last Seq %d", got, last, b.Ops[1].Record.Seq)
		}
		last = got
	}
}
