package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend commits b.N single-event batches from E concurrent
// emitters. Group commit should make many emitters share syncs: the target
// is 64 emitters ≥ 10x the events/s of one.
func BenchmarkAppend(b *testing.B) {
	body := []byte(`{"eventType":"UPDATED","objectType":"conversations","objectId":"215468","body":"` + string(make([]byte, 400)) + `"}`)
	for _, emitters := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("emitters=%d", emitters), func(b *testing.B) {
			s, _ := openTemp(b)
			ctx := context.Background()
			var left atomic.Int64
			left.Store(int64(b.N))
			syncs := s.Syncs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for e := range emitters {
				wg.Go(func() {
					for i := 0; left.Add(-1) >= 0; i++ {
						var batch Batch
						batch.Append("bench", Record{ID: fmt.Sprintf("e%d-%d", e, i), Key: "215468", Body: body})
						if err := s.Commit(ctx, &batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(s.Syncs()-syncs)/float64(b.N), "syncs/event")
		})
	}
}
