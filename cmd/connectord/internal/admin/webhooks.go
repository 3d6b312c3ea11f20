package admin

import (
	"net/http"
	"strconv"
	"sync"
)

// pathLister is implemented by pipeline.Router: whether a pipeline listens on
// a path.
type pathLister interface{ Has(path string) bool }

// InstrumentWebhooks wraps the --listen handler and counts its requests by
// path and status code. The path label is the request path only when next
// (an pipeline.Router) has a pipeline mounted there, and "unmatched" otherwise,
// so that scanners probing random paths cannot grow the label set. For a
// handler that cannot list its paths, a 404 counts as unmatched.
func (m *Metrics) InstrumentWebhooks(next http.Handler) http.Handler {
	paths, _ := next.(pathLister)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if paths != nil && !paths.Has(path) {
			path = "unmatched"
		}
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter = w
		next.ServeHTTP(sw, r)
		code := sw.code()
		*sw = statusWriter{} // a ResponseWriter is not used once ServeHTTP returns
		statusWriters.Put(sw)
		if paths == nil && code == http.StatusNotFound {
			path = "unmatched"
		}
		m.webhooks.WithLabelValues(path, strconv.Itoa(code)).Inc()
	})
}

// statusWriters spare every webhook request an allocation.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim responses
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer
// (flushing, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
