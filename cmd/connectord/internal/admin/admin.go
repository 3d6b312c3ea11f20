// Package admin serves connectord's operator surface on --admin: Prometheus
// metrics, health and readiness probes, the pipeline status API that
// `connectord status` reads, and a status page for people. The admin
// listener is separate from the webhook one and binds to 127.0.0.1 by
// default; with a token set, every endpoint but /healthz requires it.
//
// The daemon creates Metrics first (it is the runtime's runner.Observer and
// wraps the webhook listener), then the Handler, which registers a
// scrape-time collector and starts a sampler for the page's charts and the
// rates; Close stops it.
package admin

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// DefaultSampleInterval is how often the sampler reads the counters.
const DefaultSampleInterval = 5 * time.Second

// Deps are what the admin handler reads.
type Deps struct {
	Runtime *runner.Runtime
	Store   store.Store
	// Reload returns the last reload's outcome; nil: none recorded.
	Reload func() ReloadStatus
	// Token, when set, is required as "Authorization: Bearer <token>" (or
	// as the password of HTTP Basic auth, so a browser can open the page).
	Token config.Secret
	// Metrics is the registry to serve; nil: a new one. A Metrics serves
	// one Handler.
	Metrics *Metrics
	// Now is the clock for ages and lags; nil: time.Now.
	Now func() time.Time
	// SampleInterval is how often counters are sampled for the page's
	// charts and the rates (default DefaultSampleInterval).
	SampleInterval time.Duration
	// Mount, if set, adds routes (the dead-letter API, say) behind the
	// same token check.
	Mount func(mux *http.ServeMux)
	// PublicURL is the base URL Intercom reaches --listen at; a webhook
	// pipeline's status shows its path under it. nil: no webhook URLs.
	PublicURL func() string
}

// webhookURL is path under the public base, or "".
func (h *Handler) webhookURL(path string) string {
	if path == "" || h.d.PublicURL == nil {
		return ""
	}
	return strings.TrimSuffix(h.d.PublicURL(), "/") + path
}

// Handler is the admin API. It is an http.Handler; Started marks it ready
// and Close stops its sampler.
type Handler struct {
	d       Deps
	metrics *Metrics
	history *history
	next    http.Handler

	started atomic.Bool
	closed  atomic.Bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New returns the admin handler and starts its sampler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Reload == nil {
		d.Reload = func() ReloadStatus { return ReloadStatus{} }
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if d.SampleInterval <= 0 {
		d.SampleInterval = DefaultSampleInterval
	}
	h := &Handler{
		d: d, metrics: d.Metrics, history: newHistory(d.Now()),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	h.metrics.reg.MustRegister(collector{h: h, m: h.metrics})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	mux.Handle("GET /metrics", h.metrics.Handler())
	mux.HandleFunc("GET /api/pipelines", h.pipelines)
	mux.HandleFunc("GET /api/pipelines/{name}", h.pipeline)
	mux.HandleFunc("GET /api/reload", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, h.reload())
	})
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("POST /api/pipelines/{name}/resume", h.resume)
	// Profiles for operators chasing CPU or memory; behind the token, on
	// the loopback-only admin listener by default.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	if d.Mount != nil {
		d.Mount(mux)
	}
	h.next = h.auth(mux)

	go h.sampleLoop()
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// Started reports that the daemon is serving: the store is open, every
// pipeline is built and applied, and the listeners are bound. Until then
// /readyz answers 503.
func (h *Handler) Started() { h.started.Store(true) }

// Close stops the sampler and makes /readyz answer 503 (the daemon is
// shutting down). It is safe to call more than once.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		h.closed.Store(true)
		close(h.stop)
		<-h.done
	})
	return nil
}

// resume lifts a delivery pause (after a 410 Gone).
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) {
	if err := h.d.Runtime.Resume(r.Context(), r.PathValue("name")); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "resumed"})
}

func (h *Handler) now() time.Time       { return h.d.Now() }
func (h *Handler) reload() ReloadStatus { return h.d.Reload() }

// sampleLoop records the counters of every running pipeline each interval.
func (h *Handler) sampleLoop() {
	defer close(h.done)
	t := time.NewTicker(h.d.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			now := h.now()
			for _, st := range h.d.Runtime.Status() {
				h.history.record(st.Name, st.Totals, now)
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
