package natsstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
)

// The node holding a store's tail consumer stops while it leads the
// stream, as the chaos test's stream leader did: the store still sees
// another writer's commits soon after, because the tail recreates its
// consumer with attempts of 1 s, one after the other. The client's ordered
// consumer, which it used before, waited out attempts of up to 10 s (then
// 1 s, 2 s, 4 s… between them): here it caught up 10 s late in 1 run of
// 4, and in the chaos test of CI (stop 22) a replica's tail stalled as
// long, and with it the partitions it had just taken over.
func TestTailSurvivesItsNode(t *testing.T) {
	if testing.Short() {
		t.Skip("stops cluster nodes")
	}
	nc, err := nats.Connect(cluster.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	for round := range 3 {
		o := options(cluster, 3, uniq("TAIL"))
		a := open(t, o)
		b, host := openTailedOnLeader(t, js, o)
		stopped := time.Now()
		cluster.Stop(host)
		last := commitMany(t, a, 20, stopped)
		committed := time.Since(stopped)
		waitUntil(t, fmt.Sprintf("round %d: the second store's tail to reach %d", round, last), func() bool { return b.Stable() >= last })
		seen := time.Since(stopped)
		if err := cluster.Restart(host); err != nil {
			t.Fatalf("restarting n%d: %v", host+1, err)
		}
		t.Logf("round %d: n%d (stream leader, tail consumer) stopped: the other writer's 20 commits done after %s, in the tail after %s",
			round, host+1, committed.Round(time.Millisecond), seen.Round(time.Millisecond))
		// Two missed heartbeats (1 s), then a consumer elsewhere.
		if lag := seen - committed; lag > 3*time.Second {
			t.Errorf("round %d: the tail caught up %s after the other writer's last commit, want ≤ 3s", round, lag.Round(time.Millisecond))
		}
		a.Close()
		b.Close()
	}
}

// openTailedOnLeader opens stores on o's stream until one's tail consumer
// is on the stream leader's node (the server places consumers), and
// returns it with that node.
func openTailedOnLeader(t *testing.T, js jetstream.JetStream, o natsstore.Options) (*natsstore.Store, int) {
	t.Helper()
	ctx := context.Background()
	for range 30 {
		before := consumerNames(t, js, o.Stream)
		b := open(t, o)
		for n := range consumerNames(t, js, o.Stream) {
			if before[n] {
				continue
			}
			ci, err := js.Consumer(ctx, o.Stream, n)
			if err != nil || ci.CachedInfo().Cluster == nil {
				continue
			}
			if host := serverNamed(ci.CachedInfo().Cluster.Leader); host >= 0 && host == streamLeader(t, o.Stream) {
				return b, host
			}
		}
		b.Close()
	}
	t.Fatal("no tail consumer placed on the stream leader's node in 30 tries")
	return nil, -1
}

// commitMany commits n records, retrying each while the stream elects a
// new leader, and returns the last one's Seq.
func commitMany(t *testing.T, s *natsstore.Store, n int, since time.Time) uint64 {
	t.Helper()
	var last uint64
	for i := range n {
		var b store.Batch
		b.Append("p", store.Record{ID: fmt.Sprintf("after-%d", i), Key: "k"})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.Commit(ctx, &b)
			cancel()
			if err == nil {
				break
			}
			if time.Since(since) > 30*time.Second {
				t.Fatalf("commits failing 30 s after the stop: %v", err)
			}
		}
		last = b.Ops[0].Record.Seq
	}
	return last
}

func consumerNames(t *testing.T, js jetstream.JetStream, stream string) map[string]bool {
	t.Helper()
	st, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	l := st.ConsumerNames(context.Background())
	for n := range l.Name() {
		names[n] = true
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func serverNamed(name string) int {
	for i, s := range cluster.Servers {
		if s != nil && s.Name() == name {
			return i
		}
	}
	return -1
}
