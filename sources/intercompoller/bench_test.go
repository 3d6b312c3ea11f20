package intercompoller

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/engine"
)

// discard accepts every event: the benchmark measures polling and storing.
type discard struct{}

func (discard) Deliver(context.Context, engine.Delivery) error { return nil }

const benchRecords = 100_000

// BenchmarkSync measures, per mode, an initial sync of 100,000
// conversations (start: all) and then one incremental poll after 100
// changes, through a real runtime and bbolt store, against intercomsim over
// HTTP on 127.0.0.1, with a sink that discards events. peak-live-heap-MB is
// the largest live heap (measured at each GC, GOGC=25) during the sync above
// the live heap before it, which holds the simulator's workspace.
//
//	go test -run '^$' -bench Sync -benchtime 1x ./sources/intercompoller
func BenchmarkSync(b *testing.B) {
	for _, mode := range []string{"list", "search"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				benchSync(b, mode)
			}
		})
	}
}

func benchSync(b *testing.B, mode string) {
	b.StopTimer()
	h := newHarness(b, intercomsim.Options{Seed: 99}, func(o *Options) {
		setMode(mode)(o)
		o.PageSize = 150
	})
	h.pollTimeout = 10 * time.Minute
	h.sim.Populate(intercomsim.Conversations, benchRecords, epoch.Add(-365*24*time.Hour), epoch.Add(-time.Minute))
	// A low GC target makes the live heap, sampled at each GC, track what
	// the poller retains rather than when garbage happens to be collected.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	base := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(base)

	stop := make(chan struct{})
	var peak atomic.Uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	b.StartTimer()
	start := time.Now()
	h.startBench()
	h.awaitPoll()
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	<-sampled

	stored := h.rt.Counters(testPipeline).Snapshot().Stored
	if stored != benchRecords {
		b.Fatalf("initial sync stored %d events, want %d", stored, benchRecords)
	}
	b.ReportMetric(float64(benchRecords)/elapsed.Seconds(), "objects/s")
	b.ReportMetric(float64(h.sim.Requests()), "sync-requests")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base[0].Value.Uint64()))/(1<<20), "peak-live-heap-MB")

	// 100 changes: 70 updates, 30 creates.
	h.clock.Advance(time.Minute)
	snap := h.sim.Snapshot(intercomsim.Conversations)
	for i := range 70 {
		if _, err := h.sim.Update(intercomsim.Conversations, snap[i*1000].ID); err != nil {
			b.Fatal(err)
		}
	}
	for range 30 {
		h.sim.Create(intercomsim.Conversations)
	}
	h.clock.Advance(time.Minute)
	before := h.sim.Requests()
	h.poll()
	if got := h.rt.Counters(testPipeline).Snapshot().Stored - stored; got != 100 {
		b.Fatalf("incremental poll stored %d events, want 100", got)
	}
	b.ReportMetric(float64(h.sim.Requests()-before), "incremental-requests")
	h.stop()
}

// startBench starts the pipeline with a sink that discards events.
func (h *harness) startBench() {
	h.tr = nil
	h.startWithSink(discard{})
}
