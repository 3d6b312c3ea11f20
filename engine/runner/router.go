package runner

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Router is the shared --listen handler. Webhook sources of all pipelines
// are mounted on it by exact path. Routes are swapped atomically: a request
// sees either the old or the new table, never a gap, so a reload never
// answers 404 for a path that exists before and after it.
type Router struct {
	mu     sync.Mutex // serialises writers
	routes atomic.Pointer[map[string]*Route]
}

// Route is one mounted handler; Remove takes it back only if it is still
// the one mounted.
type Route struct {
	Path    string
	handler http.Handler
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	r := &Router{}
	empty := map[string]*Route{}
	r.routes.Store(&empty)
	return r
}

// Set mounts h at path, replacing any handler there.
func (r *Router) Set(path string, h http.Handler) *Route {
	rt := &Route{Path: path, handler: h}
	r.update(func(m map[string]*Route) { m[path] = rt })
	return rt
}

// Remove unmounts rt if it is still mounted (a newer generation may have
// replaced it already).
func (r *Router) Remove(rt *Route) {
	r.update(func(m map[string]*Route) {
		if cur, ok := m[rt.Path]; ok && cur == rt {
			delete(m, rt.Path)
		}
	})
}

func (r *Router) update(fn func(map[string]*Route)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.routes.Load()
	next := make(map[string]*Route, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	fn(next)
	r.routes.Store(&next)
}

// Has says whether a handler is mounted at path; it allocates nothing, so
// per-request instrumentation can call it.
func (r *Router) Has(path string) bool {
	_, ok := (*r.routes.Load())[path]
	return ok
}

// ServeHTTP dispatches by exact path.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if rt, ok := (*r.routes.Load())[req.URL.Path]; ok {
		rt.handler.ServeHTTP(w, req)
		return
	}
	http.Error(w, "no pipeline listens on "+req.URL.Path, http.StatusNotFound)
}
