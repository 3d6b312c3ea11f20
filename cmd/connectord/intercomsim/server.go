package intercomsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectord/connectord/sources/intercom"
)

// Options configure a Server. The zero value is usable: any bearer token is
// refused (set Token), no rate limit, wall clock, seed 0.
type Options struct {
	// Token is the bearer token requests must carry.
	Token string
	// Seed makes content and churn reproducible.
	Seed uint64
	// Clock stamps changes and drives rate-limit windows and search
	// visibility (default: the wall clock).
	Clock Clock
	// RateLimit is the request budget per RateWindow; 0 means unlimited.
	RateLimit int
	// RateWindow is the rate-limit window (default 10s, as Intercom
	// distributes its per-minute limit over 10-second periods).
	RateWindow time.Duration
	// ContactSearchByDay makes contact search compare timestamps by
	// calendar day in Location, as API 2.11 does: ">" matches from the start
	// of the next day, "<" before the start of the day, "=" the whole day.
	ContactSearchByDay bool
	// Location is the workspace timezone for day comparisons (default UTC).
	Location *time.Location
	// SearchDelay hides a record from search for this long after each
	// change (Intercom's indexing lag); lists show it at once.
	SearchDelay time.Duration
	// ClientID and ClientSecret, when set, are the only OAuth client the
	// authorize and token endpoints accept; unset, any non-empty ones are.
	ClientID     string
	ClientSecret string
	// AcceptAnyCode makes the token endpoint exchange any non-empty code,
	// not only codes its authorize endpoint issued, so SAP Open Connectors
	// examples with made-up codes work against the simulator.
	AcceptAnyCode bool
}

// Request describes a request about to be served, for OnRequest hooks.
type Request struct {
	N      int             // 1-based count of requests received so far
	Method string          // GET or POST
	Path   string          // e.g. /conversations/search
	Page   int             // 1 for a first page, n for the n-th page of a pagination
	Header http.Header     // the request's headers
	Ctx    context.Context // the request's context; done when the client gave up
}

// Stats counts what the server answered.
type Stats struct {
	Requests     int // every request received
	Unauthorized int // 401s
	RateLimited  int // 429s from the budget (not injected)
	Injected     int // injected failures
}

// Server is the fake Intercom API. It is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu        sync.Mutex
	rng       *rand.Rand
	cols      map[Kind]*collection
	stats     Stats
	faults    []int // statuses for the next requests
	faultRate float64
	faultCode int
	winStart  time.Time
	winCount  int
	hook      func(Request)
	scrolls   map[string]int       // scroll_param -> position
	codes     map[string]time.Time // OAuth code -> expiry
	polls     []Poll               // every poll, in order of start (polls.go)
	openPoll  map[pollKey]int      // 1-based index in polls of each client's current poll
}

// New returns a server with an empty workspace.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = wallClock{}
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 10 * time.Second
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	s := &Server{
		opts:     opts,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		cols:     map[Kind]*collection{},
		scrolls:  map[string]int{},
		codes:    map[string]time.Time{},
		openPoll: map[pollKey]int{},
	}
	for _, k := range kinds {
		s.cols[k] = newCollection(k)
	}
	s.mux = http.NewServeMux()
	// Each resource at the request the poller makes for it
	// (sources/intercom's table), and the other mode of the two that have
	// both.
	for _, k := range kinds {
		res, _ := intercom.LookupResource(string(k))
		path, _, _ := strings.Cut(res.Path, "?")
		switch res.Mode {
		case intercom.ModeList:
			s.mux.HandleFunc("GET "+path, s.list(k))
		case intercom.ModeSearch:
			s.mux.HandleFunc("POST "+path, s.search(k))
		case intercom.ModeScroll:
			s.mux.HandleFunc("GET "+path, s.scroll(k))
		}
	}
	s.mux.HandleFunc("GET /contacts", s.list(Contacts))
	s.mux.HandleFunc("POST /conversations/search", s.search(Conversations))
	s.mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	s.mux.HandleFunc("POST "+TokenPath, s.token)
	return s
}

var _ http.Handler = (*Server)(nil)

// OnRequest sets a hook run before each request is served (nil removes
// it). It runs on the request's goroutine without the server's lock, so it
// may call Create, Update and the other methods.
func (s *Server) OnRequest(fn func(Request)) {
	s.mu.Lock()
	s.hook = fn
	s.mu.Unlock()
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Requests is the number of requests received so far.
func (s *Server) Requests() int { return s.Stats().Requests }

// ServeHTTP runs the hook, injected faults, authentication and the rate
// limit, then the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "parameter_invalid", "unreadable body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.URL.Path == AuthorizePath || r.URL.Path == TokenPath {
		// The OAuth endpoints are not the REST API: no bearer token, no
		// rate limit, no injected faults.
		s.mux.ServeHTTP(w, r)
		return
	}

	s.mu.Lock()
	s.stats.Requests++
	req := Request{N: s.stats.Requests, Method: r.Method, Path: r.URL.Path, Page: pageOf(r, body), Header: r.Header, Ctx: r.Context()}
	hook := s.hook
	s.mu.Unlock()
	defer s.pollStart(r, req.Page)()
	if hook != nil {
		hook(req)
	}

	s.mu.Lock()
	status, ok := s.admit(w, r)
	s.mu.Unlock()
	if !ok {
		switch status {
		case http.StatusUnauthorized:
			writeError(w, status, "unauthorized", "Access Token Invalid")
		case http.StatusTooManyRequests:
			writeError(w, status, "rate_limit_exceeded", "Exceeded rate limit")
		default:
			writeError(w, status, "server_error", "injected failure")
		}
		return
	}
	s.mux.ServeHTTP(w, r)
}

// pageOf is the page number a request asks for, read from its cursor.
func pageOf(r *http.Request, body []byte) int {
	after := r.URL.Query().Get("starting_after")
	if r.Method == http.MethodPost {
		var b struct {
			Pagination struct {
				StartingAfter string `json:"starting_after"`
			} `json:"pagination"`
		}
		_ = json.Unmarshal(body, &b) // a bad body is the endpoint's to report
		after = b.Pagination.StartingAfter
	}
	if after == "" {
		return 1
	}
	c, err := decodeCursor(after)
	if err != nil {
		return 0
	}
	return c.page + 1
}

// admit applies injected faults, authentication and the rate limit, in
// that order, and sets the rate-limit headers. Call with s.mu held.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (int, bool) {
	now := s.opts.Clock.Now()
	if len(s.faults) > 0 || (s.faultRate > 0 && s.rng.Float64() < s.faultRate) {
		code := s.faultCode
		if len(s.faults) > 0 {
			code, s.faults = s.faults[0], s.faults[1:]
		}
		s.stats.Injected++
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			s.rateHeaders(w, 0, now.Add(time.Second))
		}
		return code, false
	}
	if auth := r.Header.Get("Authorization"); s.opts.Token == "" || auth != "Bearer "+s.opts.Token {
		s.stats.Unauthorized++
		return http.StatusUnauthorized, false
	}
	if s.opts.RateLimit <= 0 {
		return http.StatusOK, true
	}
	start := now.Truncate(s.opts.RateWindow)
	if !start.Equal(s.winStart) {
		s.winStart, s.winCount = start, 0
	}
	s.winCount++
	reset := start.Add(s.opts.RateWindow)
	if s.winCount > s.opts.RateLimit {
		s.stats.RateLimited++
		s.rateHeaders(w, 0, reset)
		return http.StatusTooManyRequests, false
	}
	s.rateHeaders(w, s.opts.RateLimit-s.winCount, reset)
	return http.StatusOK, true
}

func (s *Server) rateHeaders(w http.ResponseWriter, remaining int, reset time.Time) {
	limit := s.opts.RateLimit
	if limit <= 0 {
		limit = 10000
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	// Reset is a Unix time in whole seconds; round up so that waiting
	// until it never lands inside the old window.
	sec := reset.Unix()
	if reset.Nanosecond() > 0 {
		sec++
	}
	h.Set("X-RateLimit-Reset", strconv.FormatInt(sec, 10))
}

// FailNext makes the next n requests fail with status (500, 503, 429...),
// before authentication. Calls queue up.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, status)
	}
}

// FailRate makes each request fail with status with probability p (drawn
// from the seeded generator); p = 0 turns it off.
func (s *Server) FailRate(p float64, status int) {
	s.mu.Lock()
	s.faultRate, s.faultCode = p, status
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{
		"type": "error.list", "request_id": "sim-" + strings.ToLower(http.StatusText(status)),
		"errors": []any{map[string]any{"code": code, "message": msg}},
	})
}
