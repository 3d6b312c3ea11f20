package intercomsim

import (
	"fmt"
	"slices"
	"time"
)

// Create adds a record of kind k created (and updated) now.
func (s *Server) Create(k Kind) Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	return s.create(k, now.Unix(), now.Unix(), now)
}

// CreateAt adds a record with the given Unix times, e.g. to backdate it.
func (s *Server) CreateAt(k Kind, created, updated int64) Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(k, created, updated, s.opts.Clock.Now())
}

func (s *Server) create(k Kind, created, updated int64, now time.Time) Version {
	c := s.cols[k]
	c.seq++
	id := fmt.Sprint(1000 + c.seq)
	if k != Conversations {
		id = hexID(s.rng)
	}
	r := &record{id: id, created: created, updated: updated, changed: now, body: newBody(k, id, c.seq, s.rng)}
	r.encode()
	c.byID[id] = r
	c.dirty()
	return r.version(k)
}

// Update changes a record now: its content and its updated_at.
func (s *Server) Update(k Kind, id string) (Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	return s.update(k, id, now.Unix(), now)
}

// UpdateAt changes a record and sets its updated_at to the Unix time at.
func (s *Server) UpdateAt(k Kind, id string, at int64) (Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.update(k, id, at, s.opts.Clock.Now())
}

func (s *Server) update(k Kind, id string, at int64, now time.Time) (Version, error) {
	c := s.cols[k]
	r, ok := c.byID[id]
	if !ok {
		return Version{}, fmt.Errorf("intercomsim: no %s %q", k, id)
	}
	// A record is immutable once encoded (handlers write raw without the
	// lock), so an update replaces it.
	nr := &record{id: id, created: r.created, updated: at, changed: now, body: clone(r.body)}
	touch(k, nr.body, s.rng)
	nr.encode()
	c.byID[id] = nr
	c.dirty()
	return nr.version(k), nil
}

// Delete removes a record.
func (s *Server) Delete(k Kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cols[k]
	if _, ok := c.byID[id]; !ok {
		return fmt.Errorf("intercomsim: no %s %q", k, id)
	}
	delete(c.byID, id)
	c.dirty()
	return nil
}

// Populate adds n records of kind k whose created and updated times are
// spread evenly over [from, to] (updated a little after created for half of
// them), as a workspace with history would have.
func (s *Server) Populate(k Kind, n int, from, to time.Time) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	out := make([]Version, 0, n)
	span := to.Unix() - from.Unix()
	for i := range n {
		created := from.Unix()
		if n > 1 {
			created += span * int64(i) / int64(n-1)
		}
		updated := created
		if i%2 == 1 {
			updated = min(created+int64(s.rng.IntN(3600)), to.Unix())
		}
		out = append(out, s.create(k, created, updated, now))
	}
	return out
}

// Change is one mutation made by Churn.
type Change struct {
	Version
	Created bool // a create, else an update
}

// churnKinds weighs Churn's picks: conversations and contacts, the shipped
// pipelines' first resources, change most; companies, tickets and articles
// a change in ten each.
var churnKinds = []Kind{
	Conversations, Conversations, Conversations, Conversations,
	Contacts, Contacts, Contacts,
	Companies, Tickets, Articles,
}

// Churn makes n random changes now, to every kind served (churnKinds):
// about a third creates, the rest updates of random existing records.
func (s *Server) Churn(n int) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	out := make([]Change, 0, n)
	for range n {
		k := churnKinds[s.rng.IntN(len(churnKinds))]
		c := s.cols[k]
		if len(c.byID) == 0 || s.rng.IntN(3) == 0 {
			out = append(out, Change{Version: s.create(k, now.Unix(), now.Unix(), now), Created: true})
			continue
		}
		ids := c.index("updated_at") // sorted, so the pick is reproducible
		v, _ := s.update(k, ids[s.rng.IntN(len(ids))].id, now.Unix(), now)
		out = append(out, Change{Version: v})
	}
	return out
}

// Snapshot lists the current version of every record of kind k, oldest
// updated first.
func (s *Server) Snapshot(k Kind) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.cols[k].index("updated_at")
	out := make([]Version, len(idx))
	for i, r := range idx {
		out[i] = r.version(k)
	}
	return out
}

// Get returns a record's current JSON.
func (s *Server) Get(k Kind, id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.cols[k].byID[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(r.raw), true
}

// clone deep-copies a JSON-like value.
func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return clone(x)
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneValue(e)
		}
		return s
	}
	return v
}
