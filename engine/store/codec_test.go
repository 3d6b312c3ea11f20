package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var (
	goldenRecord = Record{
		Seq: 7, ID: "ev-1", Key: "conv-42",
		Body:        []byte(`{"event":"conversation.updated","note":"caf\u00e9 \u2603"}`),
		Stored:      time.Date(2025, 6, 1, 12, 30, 0, 123456789, time.UTC),
		Attempts:    2,
		NextAttempt: time.Date(2025, 6, 1, 12, 31, 0, 0, time.UTC),
		LastError:   "HTTP 503: busy",
	}
	goldenDead = DeadLetter{
		Record: goldenRecord, Stage: "deliver", Status: 410,
		Error: "HTTP 410: gone", Response: "bye", Died: time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC),
	}
)

// The on-disk format must not change by accident: old data files have to
// keep decoding.
func TestCodecGolden(t *testing.T) {
	for name, enc := range map[string][]byte{
		"record.v1.hex": encodeRecord(&goldenRecord),
		"dead.v1.hex":   encodeDead(&goldenDead),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			got := hex.Dump(enc)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Fatalf("encoding changed:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestCodecRoundTrip(t *testing.T) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	records := []Record{
		{},
		{Seq: 1, Body: []byte{}},
		{Seq: 2, Body: binary, Attempts: -1},
		{Seq: 3, Stored: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), NextAttempt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{Seq: 4, Stored: time.Unix(0, 0).UTC(), Body: bytes.Repeat([]byte("x"), 1<<20)},
		goldenRecord,
	}
	for _, r := range records {
		got, err := decodeRecord(r.Seq, encodeRecord(&r))
		if err != nil {
			t.Fatalf("decode %d: %v", r.Seq, err)
		}
		if len(r.Body) == 0 {
			r.Body = nil // an empty body reads back as nil
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip %d:\n got %+v\nwant %+v", r.Seq, got, r)
		}
	}
	got, err := decodeDead(goldenDead.Seq, encodeDead(&goldenDead))
	if err != nil || !reflect.DeepEqual(got, goldenDead) {
		t.Fatalf("dead letter round trip = %+v, %v", got, err)
	}
	stored, err := decodeStored(1, encodeRecord(&goldenRecord))
	if err != nil || !stored.Equal(goldenRecord.Stored) {
		t.Fatalf("decodeStored = %v, %v", stored, err)
	}
}

func TestCodecDetectsDamage(t *testing.T) {
	enc := encodeRecord(&goldenRecord)
	for i := range enc {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x40
		if _, err := decodeRecord(1, bad); !errors.Is(err, errCorrupt) {
			t.Fatalf("flipped byte %d: err = %v, want errCorrupt", i, err)
		}
	}
	for n := range len(enc) {
		if _, err := decodeRecord(1, enc[:n]); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v, want errCorrupt", n, err)
		}
	}
	if _, err := decodeDead(1, enc); !errors.Is(err, errCorrupt) {
		t.Fatalf("record decoded as dead letter: %v", err)
	}
	// Checksum right but a length runs past the end: still caught.
	lying := sealValue(append(bytes.Clone(enc[:headerLen]), 0x7f))
	if _, err := decodeRecord(1, lying); !errors.Is(err, errCorrupt) {
		t.Fatalf("overlong field: err = %v", err)
	}
}

// BenchmarkCodec compares the binary format with JSON for a typical
// 1 KiB event body.
func BenchmarkCodec(b *testing.B) {
	r := goldenRecord
	r.Body = bytes.Repeat([]byte(`{"k":"v"},`), 100)
	b.Run("binary", func(b *testing.B) {
		var n int
		for b.Loop() {
			enc := encodeRecord(&r)
			n = len(enc)
			if _, err := decodeRecord(1, enc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "bytes/record")
	})
	b.Run("json", func(b *testing.B) {
		var n int
		for b.Loop() {
			enc, err := json.Marshal(&r)
			if err != nil {
				b.Fatal(err)
			}
			n = len(enc)
			var got Record
			if err := json.Unmarshal(enc, &got); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "bytes/record")
	})
}
