package admin

import (
	"sync"

	"github.com/connectord/connectord/engine/runner"
)

// RecentPerPipeline is how many delivery attempts Recent keeps per
// pipeline: memory only, lost at restart, a few kilobytes each.
const RecentPerPipeline = 20

var _ runner.AttemptObserver = (*Metrics)(nil)

// recentDeliveries is a bounded ring of attempts per pipeline.
type recentDeliveries struct {
	mu    sync.Mutex
	rings map[string]*ring
}

type ring struct {
	buf  [RecentPerPipeline]runner.Attempt
	next int // where the next attempt goes
	n    int // how many are held
}

// Attempted implements runner.AttemptObserver.
func (m *Metrics) Attempted(pipeline string, a runner.Attempt) {
	r := &m.recent
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.rings[pipeline]
	if g == nil {
		g = &ring{}
		r.rings[pipeline] = g
	}
	if len(a.Error) > 300 {
		a.Error = a.Error[:300] + "…"
	}
	g.buf[g.next] = a
	g.next = (g.next + 1) % RecentPerPipeline
	g.n = min(g.n+1, RecentPerPipeline)
}

// Recent returns the pipeline's last delivery attempts since start-up,
// newest first (at most RecentPerPipeline).
func (m *Metrics) Recent(pipeline string) []runner.Attempt {
	r := &m.recent
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.rings[pipeline]
	if g == nil {
		return nil
	}
	out := make([]runner.Attempt, 0, g.n)
	for i := 1; i <= g.n; i++ {
		out = append(out, g.buf[(g.next-i+RecentPerPipeline)%RecentPerPipeline])
	}
	return out
}
