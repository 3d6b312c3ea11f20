package httpsink_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

// idle is a source that produces nothing: the benchmark fills the queue.
type idle struct{}

func (idle) Run(ctx context.Context, _ engine.Host) error { <-ctx.Done(); return nil }

// BenchmarkEngineDelivery measures the whole delivery path — the engine's
// scheduler reading the durable queue, the signed sink, the ack committed
// to the store — from a backlog of b.N queued events to a local 2xx
// receiver, at max_in_flight 1, 16 and 64. It reports events/s, the
// process's CPU per event (receiver included), and the
// connections opened per 1,000 events (keep-alive: about max_in_flight in
// all, so ~0 per 1,000 after warm-up).
func BenchmarkEngineDelivery(b *testing.B) {
	body := []byte(`{"message":{"eventId":"x","elementKey":"intercom","instanceName":"bench","events":[{"elementKey":"intercom","objectType":"conversations","objectId":"1","eventType":"UPDATED","eventDate":"2024-06-27T12:53:15Z"}],"raw":{"type":"notification_event","topic":"conversation.admin.replied","data":{"item":{"id":"1","body":"<p>hello</p>"}}}}}`)
	for _, inflight := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			defer srv.Close()
			st, err := store.Open(filepath.Join(b.TempDir(), "connectord.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			for i := 0; i < b.N; {
				var batch store.Batch
				for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
					batch.Append("bench", store.Record{ID: fmt.Sprint(i), Key: fmt.Sprint(i % 997), Body: body})
				}
				if err := st.Commit(ctx, &batch); err != nil {
					b.Fatal(err)
				}
			}
			sink, err := httpsink.New(httpsink.Options{URL: srv.URL, MaxInFlight: inflight, Signature: httpsink.SignatureOptions{Key: config.Secret("k")}})
			if err != nil {
				b.Fatal(err)
			}
			rt := runner.NewRuntime(runner.Options{Store: st})
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			rt.Apply(ctx, []*runner.Built{{
				Spec:   config.Pipeline{Name: "bench", Source: config.Component{Kind: "idle"}, Sink: config.Component{Kind: "http"}},
				Source: idle{}, Sink: sink, Policy: sink.Policy(), Hash: "h",
			}})
			tick := time.NewTicker(time.Millisecond)
			for {
				s, err := st.Stats(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if s.Queued == 0 {
					break
				}
				<-tick.C // poll for the queue to drain
			}
			tick.Stop()
			elapsed, cpu := time.Since(start), processCPU()-cpu0
			b.StopTimer()
			rt.Shutdown(ctx)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(sink.ConnectionsOpened())/float64(b.N)*1000, "conns/1000ev")
			// Receiver and store included; the 1 ms drain poll is noise.
			b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/event")
		})
	}
}
