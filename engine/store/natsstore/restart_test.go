package natsstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connectord/connectord/engine/store"
)

// Emitters keep committing (retrying failed commits with the same eventId,
// as a webhook sender or a poller does) while the stream leader's server is
// restarted, then connectord restarts (a new store reads the stream): every
// acknowledged event is there, and any duplicate has the same eventId.
func TestServerAndStoreRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a cluster node")
	}
	ctx := context.Background()
	o := options(cluster, 3, uniq("RESTART"))
	o.CommitTimeout = 3 * time.Second
	s := open(t, o)

	const emitters, each = 8, 60
	var acked sync.Map
	var done atomic.Int64
	var failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for e := range emitters {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("e%d-%d", e, i)
				for {
					var b store.Batch
					b.Append("hook", store.Record{ID: id, Key: fmt.Sprintf("k%d", e)})
					err := s.Commit(ctx, &b)
					if err == nil {
						acked.Store(id, true)
						done.Add(1)
						break
					}
					failures.Add(1)
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond): // the sender's retry delay
					}
				}
			}
		})
	}
	waitUntil(t, "a third of the events", func() bool { return done.Load() >= emitters*each/3 })
	leader := streamLeader(t, o.Stream)
	if err := cluster.Restart(leader); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	wg.Wait()
	close(stop)
	t.Logf("restarted server n%d; %d failed commit attempts retried", leader+1, failures.Load())

	s.Close()
	s2 := open(t, o)
	rs, err := s2.Pending(ctx, "hook", 0, 10*emitters*each)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	perKey := map[string][]string{}
	for _, r := range rs {
		stored[r.ID]++
		perKey[r.Key] = append(perKey[r.Key], r.ID)
	}
	lost := 0
	acked.Range(func(k, _ any) bool {
		if stored[k.(string)] == 0 {
			lost++
			t.Errorf("acknowledged event %s lost", k)
		}
		return lost < 10
	})
	if int(done.Load()) != emitters*each {
		t.Fatalf("%d of %d events acknowledged", done.Load(), emitters*each)
	}
	dups := len(rs) - len(stored)
	t.Logf("%d events stored, %d duplicates (same eventId)", len(rs), dups)
	// Per key, the first copy of each event is in emit order.
	for k, ids := range perKey {
		var firsts []int
		seen := map[string]bool{}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				var e, i int
				fmt.Sscanf(id, "e%d-%d", &e, &i)
				firsts = append(firsts, i)
			}
		}
		if !slices.IsSorted(firsts) {
			t.Errorf("key %s out of order: %v", k, ids)
		}
	}
}

func streamLeader(t *testing.T, stream string) int {
	t.Helper()
	nc, err := nats.Connect(cluster.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	for i, s := range cluster.Servers {
		if s != nil && info.Cluster != nil && s.Name() == info.Cluster.Leader {
			return i
		}
	}
	t.Fatalf("no leader for %s: %+v", stream, info.Cluster)
	return -1
}

// waitUntil polls cond with a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
