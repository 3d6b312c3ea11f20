package runner_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/runner"
)

// pollWatch records which replicas' pollers run, and any overlap.
type pollWatch struct {
	mu      sync.Mutex
	running map[string]bool
	overlap string
}

func (w *pollWatch) set(replica string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		for r := range w.running {
			w.overlap = replica + " polled while " + r + " did"
		}
		w.running[replica] = true
		return
	}
	delete(w.running, replica)
}

func (w *pollWatch) who() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for r := range w.running {
		out = append(out, r)
	}
	return out
}

// leaderPoller is a Poller whose Run only marks itself running until ctx ends.
type leaderPoller struct {
	replica string
	w       *pollWatch
}

func (p *leaderPoller) Run(ctx context.Context, _ engine.Host) error {
	p.w.set(p.replica, true)
	<-ctx.Done()
	p.w.set(p.replica, false)
	return nil
}

func (p *leaderPoller) PollOnce(context.Context, engine.Host) error { return nil }

// flakyCoord fails the renewals of one holder while cut is set: that
// replica is cut off from the coordinator.
type flakyCoord struct {
	cluster.Coordinator
	cut atomic.Value // string
}

func (c *flakyCoord) Renew(ctx context.Context, l cluster.Lease) (cluster.Lease, error) {
	if v, _ := c.cut.Load().(string); v == l.Holder {
		return cluster.Lease{}, errors.New("coordinator unreachable")
	}
	return c.Coordinator.Renew(ctx, l)
}

func (c *flakyCoord) Acquire(ctx context.Context, name, holder string) (cluster.Lease, error) {
	if v, _ := c.cut.Load().(string); v == holder {
		return cluster.Lease{}, errors.New("coordinator unreachable")
	}
	return c.Coordinator.Acquire(ctx, name, holder)
}

// Two replicas run one polling pipeline: only the lease holder polls; a
// clean stop hands over in < 1s; a replica cut off from the coordinator
// stops polling (its source's ctx is cancelled) before the other one,
// after the TTL, starts.
func TestPollerLeadership(t *testing.T) {
	const ttl = time.Second
	st := openStore(t, t.TempDir())
	defer st.Close()
	coord := &flakyCoord{Coordinator: cluster.NewLocal(ttl, nil)}
	w := &pollWatch{running: map[string]bool{}}
	start := func(id string) *runner.Runtime {
		rt := runner.NewRuntime(runner.Options{Store: st, Coordinator: coord, ReplicaID: id})
		rt.Apply(context.Background(), []*runner.Built{built("p", "h", &leaderPoller{replica: id, w: w}, newScriptSink(nil), fastPolicy(3, 1))})
		return rt
	}
	a := start("A")
	waitFor(t, "A polling", func() bool { return len(w.who()) == 1 && w.who()[0] == "A" })
	b := start("B")
	// B waits through several renewals of A's lease.
	deadline := time.Now().Add(2 * ttl)
	observe := time.NewTicker(10 * time.Millisecond)
	defer observe.Stop()
	for time.Now().Before(deadline) {
		if got := w.who(); len(got) != 1 || got[0] != "A" {
			t.Fatalf("pollers running: %v, want only A", got)
		}
		<-observe.C
	}

	stopped := time.Now()
	a.Shutdown(context.Background())
	waitFor(t, "B polling", func() bool { return len(w.who()) == 1 && w.who()[0] == "B" })
	if d := time.Since(stopped); d >= time.Second {
		t.Fatalf("hand-over after a clean stop took %v, want < 1s", d)
	}

	a = start("A")
	coord.cut.Store("B")
	cut := time.Now()
	waitFor(t, "A polling after B was cut off", func() bool { return len(w.who()) == 1 && w.who()[0] == "A" })
	t.Logf("takeover from a cut-off replica: %v (TTL %v)", time.Since(cut), ttl)
	if d := time.Since(cut); d > ttl+time.Second {
		t.Fatalf("takeover took %v, want ≤ TTL + 1s", d)
	}
	coord.cut.Store("")
	a.Shutdown(context.Background())
	b.Shutdown(context.Background())
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.overlap != "" {
		t.Fatal(w.overlap)
	}
}
