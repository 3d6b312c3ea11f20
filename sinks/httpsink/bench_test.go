package httpsink_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

// BenchmarkDeliver sends signed ~1 KiB events to a local 2xx receiver from
// inflight concurrent callers, as the engine's delivery workers do.
func BenchmarkDeliver(b *testing.B) {
	body := []byte(`{"message":{"eventId":"0123456789abcdef","elementKey":"intercom","events":[` +
		`{"elementKey":"intercom","objectType":"conversations","objectId":"335","eventType":"UPDATED",` +
		`"eventDate":"2024-06-27T12:53:15Z"}],"raw":{"pad":"` + strings.Repeat("x", 800) + `"}}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	for _, inflight := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			s, err := httpsink.New(httpsink.Options{URL: srv.URL, MaxInFlight: inflight,
				Signature: httpsink.SignatureOptions{Key: "bench-key"}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			d := engine.Delivery{ID: "evt", Key: "obj", Body: body, Attempt: 1}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()

			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range inflight {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if err := s.Deliver(context.Background(), d); err != nil {
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
			b.ReportMetric(float64(s.ConnectionsOpened())*1000/float64(b.N), "conns/1000ev")
		})
	}
}
