package admin

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/version"
)

// Metrics is connectord's Prometheus registry. It is created before the
// runtime because it is the runtime's runner.Observer (delivery latency and
// failed attempts), and it wraps the webhook listener (InstrumentWebhooks).
// New adds a collector that reads pipeline counters, queue depth, dead
// letters and cursors at scrape time. Nothing here is global: each daemon
// has its own registry.
type Metrics struct {
	reg *prometheus.Registry

	latency     *prometheus.HistogramVec
	webhooks    *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	reloadOK    prometheus.Gauge
	reloadStamp prometheus.Gauge

	mu       sync.Mutex
	failures map[string]*[3]atomic.Uint64 // by pipeline, indexed by engine.Class; its keys are the pipelines seen

	recent recentDeliveries // the last attempts per pipeline (deliveries.go)
}

var _ runner.Observer = (*Metrics)(nil)

// LatencyBuckets span a prompt delivery (milliseconds) to one that waited
// out the retry schedule (hours).
var LatencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600}

// NewMetrics returns a registry holding the process-level metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), failures: map[string]*[3]atomic.Uint64{}, recent: recentDeliveries{rings: map[string]*ring{}}}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "connectord_delivery_latency_seconds",
		Help:    "Time from an event being stored to the receiver acknowledging it, retries included.",
		Buckets: LatencyBuckets,
	}, []string{"pipeline"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "connectord_webhook_requests_total",
		Help: `Requests on the webhook listener by path and HTTP status; paths no pipeline listens on count as "unmatched".`,
	}, []string{"path", "status"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "connectord_reloads_total",
		Help: "Loads of the config directory, the initial one included, by result (ok, error); a rejected reload changes nothing.",
	}, []string{"result"})
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "connectord_last_reload_successful",
		Help: "1 if the last reload was accepted, 0 if it was rejected.",
	})
	m.reloadOK.Set(1)
	m.reloadStamp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "connectord_last_reload_timestamp_seconds",
		Help: "When the config was last (re)loaded, as a Unix time.",
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "connectord_build_info",
		Help: "Always 1; the labels say which connectord is running.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version.String(), runtime.Version()).Set(1)
	m.reg.MustRegister(m.latency, m.webhooks, m.reloads, m.reloadOK, m.reloadStamp, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Delivered implements runner.Observer.
func (m *Metrics) Delivered(pipeline string, latency time.Duration) {
	m.latency.WithLabelValues(pipeline).Observe(latency.Seconds())
}

// Failed implements runner.Observer.
func (m *Metrics) Failed(pipeline string, class engine.Class, _ int) {
	if class < engine.Retry || class > engine.Gone {
		class = engine.Retry
	}
	m.failuresOf(pipeline)[class].Add(1)
}

func (m *Metrics) failuresOf(pipeline string) *[3]atomic.Uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.failures[pipeline]
	if f == nil {
		f = new([3]atomic.Uint64)
		m.failures[pipeline] = f
	}
	return f
}

// failureCounts returns the failed attempts of pipeline by class; asking
// makes the pipeline known.
func (m *Metrics) failureCounts(pipeline string) [3]uint64 {
	f := m.failuresOf(pipeline)
	return [3]uint64{f[0].Load(), f[1].Load(), f[2].Load()}
}

// knownPipelines lists every pipeline the metrics have seen, removed ones
// included.
func (m *Metrics) knownPipelines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.failures))
	for name := range m.failures {
		out = append(out, name)
	}
	return out
}

// ObserveReload records the outcome of a load of the config directory; the
// daemon calls it after the initial load and after each reload.
func (m *Metrics) ObserveReload(ok bool, at time.Time) {
	result, v := "error", 0.0
	if ok {
		result, v = "ok", 1
	}
	m.reloads.WithLabelValues(result).Inc()
	m.reloadOK.Set(v)
	m.reloadStamp.Set(float64(at.UnixNano()) / 1e9)
}
