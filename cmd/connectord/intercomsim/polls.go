package intercomsim

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Poll is one poll of a resource by one client, as the server saw it: from
// the arrival of its first page's request to the end of the last response
// of that pagination. Requests of one client to one path are grouped into
// a poll from a first page (Request.Page 1) to the next first page, so a
// retried page or a scroll's next batch extends the poll it belongs to.
type Poll struct {
	Client string // the name given to Client, "" for requests served by the Server itself
	Method string
	Path   string // the resource's endpoint, e.g. /conversations
	Start  time.Time
	End    time.Time
	Pages  int // requests in this poll
}

// Overlap is two polls of one endpoint by different clients that were
// under way at the same time: what a single poller per resource across
// replicas must never produce.
type Overlap struct{ A, B Poll }

type clientKey struct{}

// Client is the server as seen by one named client (a connectord replica
// reaching the API through its own address): requests through it are
// recorded as that client's in Polls.
func (s *Server) Client(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, name)))
	})
}

// pollStart records a request's arrival and returns a func that records
// the end of its response. Wall time, not Options.Clock: overlap is about
// real concurrency even when the workspace's clock is fake.
func (s *Server) pollStart(r *http.Request, page int) func() {
	name, _ := r.Context().Value(clientKey{}).(string)
	now := time.Now()
	s.mu.Lock()
	i := s.openPoll[pollKey{name, r.Method, r.URL.Path}]
	if (page == 1 || i == 0) && len(s.polls) >= maxPolls {
		s.mu.Unlock()
		return func() {}
	}
	if page == 1 || i == 0 {
		s.polls = append(s.polls, Poll{Client: name, Method: r.Method, Path: r.URL.Path, Start: now})
		i = len(s.polls)
		s.openPoll[pollKey{name, r.Method, r.URL.Path}] = i
	}
	s.polls[i-1].Pages++
	s.mu.Unlock()
	return func() {
		end := time.Now()
		s.mu.Lock()
		if p := &s.polls[i-1]; end.After(p.End) {
			p.End = end
		}
		s.mu.Unlock()
	}
}

type pollKey struct{ client, method, path string }

// maxPolls bounds the record of a long-running simulator (about 10 MB);
// later polls are not recorded.
const maxPolls = 100_000

// Polls lists every poll so far (the first maxPolls), in order of their start.
func (s *Server) Polls() []Poll {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.polls)
}

// Overlaps lists the pairs of polls of one endpoint by different clients
// whose spans intersect. A poll still waiting for a response counts as
// running until now.
func (s *Server) Overlaps() []Overlap {
	polls := s.Polls()
	now := time.Now()
	for i := range polls {
		if polls[i].End.IsZero() {
			polls[i].End = now
		}
	}
	var out []Overlap
	for i, a := range polls {
		for _, b := range polls[i+1:] {
			if a.Client != b.Client && a.Method == b.Method && a.Path == b.Path && a.Start.Before(b.End) && b.Start.Before(a.End) {
				out = append(out, Overlap{A: a, B: b})
			}
		}
	}
	return out
}
