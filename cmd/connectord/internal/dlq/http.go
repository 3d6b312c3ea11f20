package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// Register mounts the dead-letter API on mux:
//
//	GET  /api/pipelines/{name}/deadletters?after=N&limit=N
//	GET  /api/pipelines/{name}/deadletters/{seq}
//	POST /api/pipelines/{name}/deadletters/replay   {"all":true} or {"ids":[...]}
//	POST /api/pipelines/{name}/deadletters/purge    same body
//	POST /api/pipelines/{name}/queue/purge          queued events of a removed pipeline
//	GET  /api/deadletters/pipelines                 the pipelines that run or have stored state
//
// An unknown pipeline is 404.
func Register(mux *http.ServeMux, s *Service) {
	mux.HandleFunc("GET /api/deadletters/pipelines", func(w http.ResponseWriter, r *http.Request) {
		names, err := s.Pipelines(r.Context())
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"pipelines": orEmpty(names)})
	})
	mux.HandleFunc("GET /api/pipelines/{name}/deadletters", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		dls, err := s.List(r.Context(), r.PathValue("name"), after, limit)
		if errors.Is(err, ErrUnknownPipeline) {
			writeErr(w, http.StatusNotFound, err)
			return
		} else if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"dead_letters": orEmpty(dls)})
	})
	mux.HandleFunc("GET /api/pipelines/{name}/deadletters/{seq}", func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("dead letter number %q is not a number", r.PathValue("seq")))
			return
		}
		d, err := s.Store.DeadLetter(r.Context(), r.PathValue("name"), seq)
		if errors.Is(err, store.ErrNotFound) {
			writeErr(w, http.StatusNotFound, err)
			return
		} else if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, d)
	})
	action := func(op func(context.Context, string, Selector) (int, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var sel Selector
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&sel); err != nil {
				writeErr(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
				return
			}
			n, err := op(r.Context(), r.PathValue("name"), sel)
			switch {
			case errors.Is(err, ErrNoneSelected), errors.Is(err, ErrUnknownPipeline):
				writeErr(w, http.StatusNotFound, err)
			case err != nil:
				writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "count": n})
			default:
				writeJSON(w, http.StatusOK, map[string]any{"count": n})
			}
		}
	}
	mux.HandleFunc("POST /api/pipelines/{name}/deadletters/replay", action(s.Replay))
	mux.HandleFunc("POST /api/pipelines/{name}/deadletters/purge", action(s.Purge))
	mux.HandleFunc("POST /api/pipelines/{name}/queue/purge", func(w http.ResponseWriter, r *http.Request) {
		n, err := s.PurgeQueue(r.Context(), r.PathValue("name"))
		switch {
		case errors.Is(err, ErrRunning):
			writeErr(w, http.StatusConflict, err)
		case errors.Is(err, ErrUnknownPipeline):
			writeErr(w, http.StatusNotFound, err)
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error(), "count": n})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"count": n})
		}
	})
}

func orEmpty[T any](d []T) []T {
	if d == nil {
		return []T{}
	}
	return d
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// Client calls a running daemon's dead-letter API.
type Client struct {
	Base  string // e.g. http://127.0.0.1:9090
	Token string // admin bearer token, if any
	HTTP  *http.Client
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			if resp.StatusCode == http.StatusNotFound && e.Error == ErrNoneSelected.Error() {
				return ErrNoneSelected
			}
			if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(e.Error, ErrUnknownPipeline.Error()) {
				return fmt.Errorf("%w%s", ErrUnknownPipeline, strings.TrimPrefix(e.Error, ErrUnknownPipeline.Error()))
			}
			return fmt.Errorf("admin API: %s", e.Error)
		}
		return fmt.Errorf("admin API: HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(data, out)
}

// List lists dead letters.
func (c *Client) List(ctx context.Context, pipeline string, after uint64, limit int) ([]store.DeadLetter, error) {
	var out struct {
		DeadLetters []store.DeadLetter `json:"dead_letters"`
	}
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "limit": {strconv.Itoa(limit)}}
	err := c.do(ctx, http.MethodGet, "/api/pipelines/"+url.PathEscape(pipeline)+"/deadletters?"+q.Encode(), nil, &out)
	return out.DeadLetters, err
}

// Pipelines lists the daemon's pipelines.
func (c *Client) Pipelines(ctx context.Context) ([]string, error) {
	var out struct {
		Pipelines []string `json:"pipelines"`
	}
	err := c.do(ctx, http.MethodGet, "/api/deadletters/pipelines", nil, &out)
	return out.Pipelines, err
}

// Show returns one dead letter.
func (c *Client) Show(ctx context.Context, pipeline string, seq uint64) (store.DeadLetter, error) {
	var d store.DeadLetter
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/pipelines/%s/deadletters/%d", url.PathEscape(pipeline), seq), nil, &d)
	return d, err
}

// Replay replays the selected dead letters.
func (c *Client) Replay(ctx context.Context, pipeline string, sel Selector) (int, error) {
	return c.count(ctx, pipeline, "replay", sel)
}

// Purge deletes the selected dead letters.
func (c *Client) Purge(ctx context.Context, pipeline string, sel Selector) (int, error) {
	return c.count(ctx, pipeline, "purge", sel)
}

// PurgeQueue deletes the queued events of a removed pipeline.
func (c *Client) PurgeQueue(ctx context.Context, pipeline string) (int, error) {
	var out struct{ Count int }
	err := c.do(ctx, http.MethodPost, "/api/pipelines/"+url.PathEscape(pipeline)+"/queue/purge", struct{}{}, &out)
	return out.Count, err
}

func (c *Client) count(ctx context.Context, pipeline, op string, sel Selector) (int, error) {
	var out struct{ Count int }
	err := c.do(ctx, http.MethodPost, "/api/pipelines/"+url.PathEscape(pipeline)+"/deadletters/"+op, sel, &out)
	return out.Count, err
}
