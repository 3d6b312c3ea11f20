package natsstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
	"github.com/connectord/connectord/engine/store/storetest"
)

// This file's tests run after the package's others (test files run in
// name order): a node restarted here and still catching up slowed the
// lease and dedupe tests that followed it.
//
// The stream-leader node stops while emitters commit (retrying failures,
// as a webhook sender does): the longest time without a successful commit
// is printed. Batches in flight to the stopped leader are failed as soon
// as the stream elects a new one (or the connection moves), not after the
// commit timeout. Nothing acknowledged is lost (checked by reading back).
func TestLeaderLossGap(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a cluster node")
	}
	ctx := context.Background()
	o := options(cluster, 3, uniq("GAP"))
	s := open(t, o)

	const emitters = 4
	var (
		mu     sync.Mutex
		last   time.Time
		gap    time.Duration
		acked  []string
		n      atomic.Int64
		fails  atomic.Int64
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		closed atomic.Bool
	)
	for e := range emitters {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("e%d-%d", e, i)
				for {
					var b store.Batch
					b.Append("hook", store.Record{ID: id, Key: fmt.Sprintf("k%d", e)})
					cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
					err := s.Commit(cctx, &b)
					cancel()
					if err == nil {
						now := time.Now()
						mu.Lock()
						if !last.IsZero() && now.Sub(last) > gap {
							gap = now.Sub(last)
						}
						last = now
						acked = append(acked, id)
						mu.Unlock()
						n.Add(1)
						break
					}
					fails.Add(1)
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond): // the sender's retry delay
					}
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	stopAll := func() {
		if !closed.Swap(true) {
			close(stop)
			wg.Wait()
		}
	}
	defer stopAll()
	waitUntil(t, "commits before the stop", func() bool { return n.Load() >= 50 })
	leader := streamLeader(t, o.Stream)
	stopped := time.Now()
	cluster.Stop(leader)
	defer func() {
		if err := cluster.Restart(leader); err != nil {
			t.Errorf("restarting n%d: %v", leader+1, err)
		}
	}()
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	waitUntil(t, "commits after the stop", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= before+100 && last.After(stopped)
	})
	t0 := time.Now()
	stopAll()
	t.Logf("emitters stopped in %s", time.Since(t0).Round(time.Millisecond))
	t.Logf("%s from the stop to the 100th commit after it", time.Since(stopped).Round(time.Millisecond))
	mu.Lock()
	t.Logf("stream leader n%d stopped: longest time without a commit %s; %d commits, %d failed attempts retried", leader+1, gap.Round(time.Millisecond), len(acked), fails.Load())
	mu.Unlock()
	if gap > 6*time.Second { // the figure is the point; this bound only catches the commit timeout
		t.Errorf("longest gap %s", gap)
	}

	t0 = time.Now()
	s2 := open(t, o)
	t.Logf("reopened in %s", time.Since(t0).Round(time.Millisecond))
	rs, err := s2.Pending(ctx, "hook", 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, r := range rs {
		stored[r.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged event %s lost", id)
		}
	}
}

// Several replicas starting at once on a stream that does not exist yet:
// one creates it, the others find it before it has elected a leader, and
// all of them wait for the leader instead of failing.
func TestConcurrentOpenFreshStream(t *testing.T) {
	for round := range 3 {
		o := options(cluster, 3, uniq(fmt.Sprintf("START%d", round)))
		const replicas = 3
		errs := make(chan error, replicas)
		var wg sync.WaitGroup
		for range replicas {
			wg.Go(func() {
				s, err := natsstore.Open(context.Background(), o)
				if err == nil {
					storetest.CloseAtCleanup(t, s)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: Open: %v", round, err)
			}
		}
	}
}
