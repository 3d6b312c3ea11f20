package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The crash test runs a child copy of this test binary (TestCrashChild)
// that appends numbered events from several goroutines and prints each one
// after Commit returns; the parent SIGKILLs it mid-stream and checks that
// everything acknowledged survived, byte for byte, and nothing is torn.
const (
	crashDirEnv  = "CONNECTORD_STORE_CRASH_DIR"
	crashBaseEnv = "CONNECTORD_STORE_CRASH_BASE"
	crashPipe    = "crash"
	crashWorkers = 8
)

// crashBody is event n's body: deterministic, 1 byte to 6 KiB, binary-ish.
func crashBody(n uint64) []byte {
	rng := rand.New(rand.NewPCG(n, n^0x9e3779b97f4a7c15))
	body := fmt.Appendf(nil, `{"n":%d,"pad":"`, n)
	for range rng.IntN(6 << 10) {
		body = append(body, byte(rng.IntN(256)))
	}
	return body
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	base, err := strconv.ParseUint(os.Getenv(crashBaseEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	// The parent kills us long before this; it only stops an orphan.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var next atomic.Uint64
	next.Store(base)
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(os.Stdout, format, args...)
	}
	var wg sync.WaitGroup
	for g := range crashWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := next.Add(1)
				var b Batch
				b.Append(crashPipe, Record{ID: fmt.Sprintf("ev-%d", n), Key: fmt.Sprintf("g%d", g), Body: crashBody(n)})
				b.Put(crashPipe, fmt.Sprintf("last/g%d", g), []byte(strconv.FormatUint(n, 10)))
				if err := s.Commit(ctx, &b); err != nil {
					return
				}
				seq := b.Ops[0].Record.Seq
				say("ack %d %d\n", seq, n)
				if n%5 == 0 { // some deletes too, so the file churns
					var ack Batch
					ack.Ack(crashPipe, seq)
					if s.Commit(ctx, &ack) != nil {
						return
					}
					say("del %d\n", seq)
				}
			}
		})
	}
	wg.Wait()
}

func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	acked := map[uint64]uint64{} // seq → n
	deleted := map[uint64]bool{}
	for round := range 4 {
		killAfter := 20 + rand.IntN(400)
		runCrashChild(t, dir, uint64(round)*1_000_000, killAfter, acked, deleted)
		verifyCrashStore(t, dir, acked, deleted)
	}
}

// runCrashChild starts the child, kills it after killAfter acks and records
// every line it printed, including those still in the pipe.
func runCrashChild(t *testing.T, dir string, base uint64, killAfter int, acked map[uint64]uint64, deleted map[uint64]bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%d", crashBaseEnv, base))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	acks, killed := 0, false
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 3 && f[0] == "ack":
			seq, _ := strconv.ParseUint(f[1], 10, 64)
			n, _ := strconv.ParseUint(f[2], 10, 64)
			acked[seq] = n
			if acks++; acks == killAfter {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		case len(f) == 2 && f[0] == "del":
			seq, _ := strconv.ParseUint(f[1], 10, 64)
			deleted[seq] = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acks, before the kill at %d: %v\n%s", acks, killAfter, err, stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("child was not killed by a signal: %v\n%s", err, stderr.String())
	}
}

func verifyCrashStore(t *testing.T, dir string, acked map[uint64]uint64, deleted map[uint64]bool) {
	t.Helper()
	s, err := Open(filepath.Join(dir, "connectord.db"))
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for seq, n := range acked {
		r, err := s.Get(ctx, crashPipe, seq)
		if deleted[seq] {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("seq %d was acked and deleted but Get = %v", seq, err)
			}
			continue
		}
		if errors.Is(err, ErrNotFound) && n%5 == 0 {
			continue // its delete committed; the kill came before "del" was printed
		}
		if err != nil {
			t.Fatalf("acknowledged seq %d (event %d) lost: %v", seq, n, err)
		}
		if r.ID != fmt.Sprintf("ev-%d", n) || !bytes.Equal(r.Body, crashBody(n)) {
			t.Fatalf("seq %d: got %s with %d-byte body, want ev-%d", seq, r.ID, len(r.Body), n)
		}
	}
	// Every stored record decodes and is whole; the counters match the keys;
	// each worker's cursor moved only together with its appends.
	last := map[string]uint64{}
	if err := s.Scan(ctx, crashPipe, "last/", func(k string, v []byte) bool {
		last[strings.TrimPrefix(k, "last/")], err = strconv.ParseUint(string(v), 10, 64)
		return err == nil
	}); err != nil {
		t.Fatal(err)
	}
	queued := 0
	byEvent := map[uint64]bool{}
	err = s.db.View(func(tx *bolt.Tx) error {
		p, _ := readPipeline(tx, crashPipe)
		if err := p.queue.ForEach(func(k, v []byte) error {
			queued++
			r, err := decodeRecord(keySeq(k), v)
			if err != nil {
				return err
			}
			n, err := strconv.ParseUint(strings.TrimPrefix(r.ID, "ev-"), 10, 64)
			if err != nil || !bytes.Equal(r.Body, crashBody(n)) {
				return fmt.Errorf("seq %d (%s) torn: %d-byte body", r.Seq, r.ID, len(r.Body))
			}
			byEvent[n] = true
			if n > last[r.Key] {
				return fmt.Errorf("seq %d: event %d of %s stored but its cursor says %d", r.Seq, n, r.Key, last[r.Key])
			}
			return nil
		}); err != nil {
			return err
		}
		if c := p.counter(keyQueued); c != int64(queued) {
			return fmt.Errorf("queued counter %d, %d keys", c, queued)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if queued == 0 {
		t.Fatal("nothing stored at all")
	}
	for g, n := range last {
		if !byEvent[n] && n%5 != 0 {
			t.Fatalf("cursor of %s says event %d, which was not stored", g, n)
		}
	}
}
