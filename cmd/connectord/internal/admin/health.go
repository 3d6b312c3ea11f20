package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// healthz says the process is alive and serving HTTP; it checks nothing
// else, so a slow store never gets the daemon restarted.
func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 only while the daemon is started (store open,
// pipelines built and applied, listeners bound), not shutting down, and
// the store answers; otherwise 503 with the reason.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if reason := h.notReady(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (h *Handler) notReady(ctx context.Context) string {
	switch {
	case h.closed.Load():
		return "shutting down"
	case !h.started.Load():
		return "starting: pipelines are not running yet"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := h.d.Store.Pipelines(ctx); err != nil {
		return "store: " + err.Error()
	}
	if msg, since := h.d.Runtime.StoreError(); msg != "" {
		return fmt.Sprintf("store: commits failing since %s: %s", since.UTC().Format(time.RFC3339), msg)
	}
	var down []string
	for _, st := range h.d.Runtime.Status() {
		if ep := st.Endpoint; ep.State == "down" {
			down = append(down, fmt.Sprintf("pipeline %s: endpoint %s down since %s (%s)", st.Name, ep.Endpoint, ep.Since.UTC().Format(time.RFC3339), ep.LastError))
		}
	}
	return strings.Join(down, "; ")
}
