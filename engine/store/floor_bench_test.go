package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The webhook benchmark's store traffic, replayed without HTTP: groups of
// G events, each an append of a 1.1 KB record plus a dedupe mark and its
// time index, then the group's acks. BenchmarkStoreFloor runs it on bbolt
// and on the simplest append-only log that keeps the same durability (one
// fdatasync per group, a checksummed frame per record and per ack), and
// reports the bytes each writes to storage per event (/proc/self/io
// write_bytes) — the question being whether bbolt's page writes are the
// floor of the store's cost. "bbolt" is the store writing each group
// straight into bbolt (as before the log), "wal" the store as it is: the log
// in front of bbolt, including the checkpoint of what is left at the end.
func BenchmarkStoreFloor(b *testing.B) {
	body := []byte(`{"message":{"eventId":"notif_x","raw":"` + strings.Repeat("x", 1040) + `"}}`)
	for _, group := range []int{1, 8, 32} {
		for _, v := range []struct {
			name string
			opts []Option
		}{{"bbolt", []Option{withDirectBolt()}}, {"wal", nil}} {
			b.Run(fmt.Sprintf("%s/group=%d", v.name, group), func(b *testing.B) {
				s, _ := openTemp(b, v.opts...)
				ctx := context.Background()
				w0, f0 := writeBytes(b), s.Fdatasyncs()
				b.ResetTimer()
				for i := 0; i < b.N; i += group {
					var in, acks Batch
					for j := i; j < i+group; j++ {
						id := "notif_bench_" + strconv.Itoa(j)
						in.Append("bench", Record{ID: id, Key: strconv.Itoa(j % 5000), Body: body})
						in.PutIfAbsent("bench", "dedupe/"+id, []byte("2026-12-01T22:00:00.000000000Z"))
						in.Put("bench", fmt.Sprintf("dedupe-at/%020d/%s", j, id), []byte{})
					}
					if err := s.Commit(ctx, &in); err != nil {
						b.Fatal(err)
					}
					for _, op := range in.Ops {
						if op.Kind == OpAppend {
							acks.Ack("bench", op.Record.Seq)
						}
					}
					if err := s.Commit(ctx, &acks); err != nil {
						b.Fatal(err)
					}
				}
				// What the log holds still goes into bbolt: the run pays for
				// its checkpoint (the dedupe marks, which stay).
				if err := s.flush(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric((writeBytes(b)-w0)/float64(b.N), "written-B/event")
				b.ReportMetric(float64(s.Fdatasyncs()-f0)/float64(b.N), "fdatasyncs/event")
			})
		}
		b.Run(fmt.Sprintf("append-only/group=%d", group), func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			w0 := writeBytes(b)
			var buf []byte
			frame := func(kind byte, seq uint64, payload []byte) {
				start := len(buf)
				buf = append(buf, kind, 0, 0, 0, 0)
				buf = binary.AppendUvarint(buf, seq)
				buf = binary.AppendUvarint(buf, uint64(len(payload)))
				buf = append(buf, payload...)
				binary.BigEndian.PutUint32(buf[start+1:], crc32.Checksum(buf[start+5:], castagnoli))
			}
			for i := 0; i < b.N; i += group {
				buf = buf[:0]
				for j := i; j < i+group; j++ {
					id := "notif_bench_" + strconv.Itoa(j)
					frame(1, uint64(j), append([]byte(id), body...)) // record with its id
					frame(2, uint64(j), []byte(id))                  // dedupe mark
				}
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				buf = buf[:0]
				for j := i; j < i+group; j++ {
					frame(3, uint64(j), nil) // ack
				}
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((writeBytes(b)-w0)/float64(b.N), "written-B/event")
		})
	}
}

// writeBytes is this process's write_bytes so far: bytes it caused to be
// sent to storage.
func writeBytes(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
