// Package admin serves connectord's operator API on --admin: health and
// readiness probes and the pipeline status API. It is a separate listener
// from the webhook one and binds to 127.0.0.1 by default; with a token set,
// every request must carry it as a bearer token.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/store"
)

// Deps are what the admin API reads.
type Deps struct {
	Runtime *engine.Runtime
	Store   store.Store
	// Reload returns the last reload's outcome (JSON-encodable).
	Reload func() any
	// Token, when set, is required as "Authorization: Bearer <token>".
	Token config.Secret
}

// New returns the admin handler.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	a := &api{d: d}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.ready)
	mux.HandleFunc("GET /api/pipelines", a.pipelines)
	mux.HandleFunc("GET /api/pipelines/{name}", a.pipeline)
	mux.HandleFunc("GET /api/reload", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, d.Reload())
	})
	return a.auth(mux)
}

type api struct{ d Deps }

func (a *api) auth(next http.Handler) http.Handler {
	if a.d.Token == "" {
		return next
	}
	want := []byte("Bearer " + a.d.Token.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="connectord"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *api) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := a.d.Store.Pipelines(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "store: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Pipeline is one row of the status API: the runtime's view plus what the
// store holds for it.
type Pipeline struct {
	engine.PipelineStatus
	Queued      int       `json:"queued"`
	OldestQueue time.Time `json:"oldest_queued,omitzero"`
	DeadLetters int       `json:"dead_letters"`
}

func (a *api) list(ctx context.Context) ([]Pipeline, error) {
	running := a.d.Runtime.Status()
	seen := map[string]bool{}
	var out []Pipeline
	for _, st := range running {
		seen[st.Name] = true
		out = append(out, Pipeline{PipelineStatus: st})
	}
	// Removed pipelines whose queue or dead letters are still on disk.
	names, err := a.d.Store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !seen[n] {
			out = append(out, Pipeline{PipelineStatus: engine.PipelineStatus{Name: n, State: "removed"}})
		}
	}
	for i := range out {
		s, err := a.d.Store.Stats(ctx, out[i].Name)
		if err != nil {
			return nil, err
		}
		out[i].Queued, out[i].OldestQueue, out[i].DeadLetters = s.Queued, s.OldestQueue, s.DeadLetters
	}
	kept := out[:0]
	for _, p := range out {
		if p.State != "removed" || p.Queued > 0 || p.DeadLetters > 0 {
			kept = append(kept, p)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Name < kept[j].Name })
	return kept, nil
}

func (a *api) pipelines(w http.ResponseWriter, r *http.Request) {
	ps, err := a.list(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pipelines": ps, "reload": a.d.Reload()})
}

func (a *api) pipeline(w http.ResponseWriter, r *http.Request) {
	ps, err := a.list(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	name := r.PathValue("name")
	for _, p := range ps {
		if p.Name == name {
			writeJSON(w, http.StatusOK, p)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no pipeline " + strings.TrimSpace(name)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
