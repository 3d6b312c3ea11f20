package daemon

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// startRetryAfter is what the webhook listener asks senders to wait while
// the daemon starts.
const startRetryAfter = 5 * time.Second

// startGate answers 503 with Retry-After until open is called. The webhook
// listener is bound first, so a port in use fails Start before anything
// runs; until the pipelines are applied their routes do not exist, and a
// sender must hear "retry" rather than 404 for a path that is about to be
// served.
type startGate struct {
	open atomic.Bool
	next http.Handler
}

func (g *startGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.open.Load() {
		g.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(startRetryAfter/time.Second)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":"connectord is starting; retry later"}` + "\n"))
}
