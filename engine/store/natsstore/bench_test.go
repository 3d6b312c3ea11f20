package natsstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// syncCluster is a second 3-node cluster with sync_interval: always (every
// write fsynced, as the README asks of production servers); started only
// when benchmarks run.
var syncCluster *natstest.Cluster

type benchBackend struct {
	name string
	open func(b *testing.B) store.Store
}

func benchBackends() []benchBackend {
	nats := func(c **natstest.Cluster, replicas int) func(b *testing.B) store.Store {
		return func(b *testing.B) store.Store {
			return open(b, options(*c, replicas, fmt.Sprintf("B%d", streams.Add(1))))
		}
	}
	bs := []benchBackend{
		{"bolt", func(b *testing.B) store.Store {
			s, err := store.Open(filepath.Join(b.TempDir(), "connectord.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"nats-R1", nats(&single, 1)},
		{"nats-R3", nats(&cluster, 3)},
	}
	if syncCluster != nil {
		bs = append(bs, benchBackend{"nats-R3-syncalways", nats(&syncCluster, 3)})
	}
	return bs
}

var benchBody = []byte(`{"eventType":"UPDATED","objectType":"conversations","objectId":"215468","body":"` + string(make([]byte, 400)) + `"}`)

// BenchmarkStore measures, on every backend in one run, appends/s with 1, 8
// and 64 concurrent emitters (one event per Commit, as a webhook does), and
// deliveries/s: 64 workers acking queued events one Commit each, fed by
// Pending pages, as the deliverer does.
func BenchmarkStore(b *testing.B) {
	for _, be := range benchBackends() {
		for _, emitters := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("backend=%s/append/emitters=%d", be.name, emitters), func(b *testing.B) {
				s := be.open(b)
				b.ResetTimer()
				start := time.Now()
				appendN(b, s, b.N, emitters)
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			})
		}
		b.Run(fmt.Sprintf("backend=%s/deliver/workers=64", be.name), func(b *testing.B) {
			s := be.open(b)
			appendN(b, s, b.N, 64)
			b.ResetTimer()
			start := time.Now()
			deliverAll(b, s, b.N, 64)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}

func appendN(b *testing.B, s store.Store, n, emitters int) {
	ctx := context.Background()
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for e := range emitters {
		wg.Go(func() {
			for i := 0; left.Add(-1) >= 0; i++ {
				var batch store.Batch
				batch.Append("bench", store.Record{ID: fmt.Sprintf("e%d-%d", e, i), Key: fmt.Sprintf("k%d", i%100), Body: benchBody})
				if err := s.Commit(ctx, &batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func deliverAll(b *testing.B, s store.Store, n, workers int) {
	ctx := context.Background()
	seqs := make(chan uint64, 512)
	go func() {
		defer close(seqs)
		after := uint64(0)
		for sent := 0; sent < n; {
			rs, err := s.Pending(ctx, "bench", after, 256)
			if err != nil || len(rs) == 0 {
				b.Errorf("pending after %d: %d records, %v", after, len(rs), err)
				return
			}
			for _, r := range rs {
				seqs <- r.Seq
				after = r.Seq
				sent++
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for seq := range seqs {
				var batch store.Batch
				batch.Ack("bench", seq)
				if err := s.Commit(ctx, &batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st, err := s.Stats(ctx, "bench"); err != nil || st.Queued != 0 {
		b.Errorf("after delivering: %+v, %v", st, err)
	}
}
