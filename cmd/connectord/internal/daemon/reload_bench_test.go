package daemon_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkReloadLatency measures the time from saving an edited pipeline
// file (an editor's rename) to the new generation serving, including the
// watcher's debounce (daemon.DefaultDebounce). Run it with
// -benchtime=50x for the 50 edits of the issue; it reports p50 and p99.
func BenchmarkReloadLatency(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	dir, file := pipelineDir(b, "hooks.yaml", fmt.Sprintf(webhookPipeline, "G0", srv.URL))
	d, _, stop := startDebounced(b, dir)
	defer stop()
	defer d.Shutdown(context.Background())

	generation := func() uint64 { return d.Runtime().Status()[0].Generation }
	lat := make([]time.Duration, 0, b.N)
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := generation()
		t0 := time.Now()
		tmp := filepath.Join(dir, ".hooks.yaml.tmp")
		os.WriteFile(tmp, []byte(fmt.Sprintf(webhookPipeline, fmt.Sprintf("G%d", i+1), srv.URL)), 0o644)
		os.Rename(tmp, file)
		for generation() == before {
			if time.Since(t0) > 10*time.Second {
				b.Fatal("edit not applied within 10s")
			}
			<-tick.C // poll for the new generation
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}
