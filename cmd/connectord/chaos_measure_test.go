package main

// Helpers of the chaos test: waiting for phases, measuring failover.

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/fleet"
	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

func startAll(t *testing.T, rs []*fleet.Replica) {
	t.Helper()
	errs := make(chan error, len(rs))
	for _, r := range rs {
		go func() { errs <- r.Start(60 * time.Second) }()
	}
	for range rs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// churnOne updates a random conversation or article.
func churnOne(sim *intercomsim.Server) {
	k := intercomsim.Conversations
	if rand.IntN(4) == 0 {
		k = intercomsim.Articles
	}
	vs := sim.Snapshot(k)
	if len(vs) > 0 {
		sim.Update(k, vs[rand.IntN(len(vs))].ID)
	}
}

func churn(ctx context.Context, sim *intercomsim.Server, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			churnOne(sim)
		}
	}
}

// waitUntil polls cond until it holds or timeout passes; it reports
// whether cond held.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, timeout, cond, func() string { return "timed out after " + timeout.String() + " waiting for " + what })
}

// streamLeader is the index of the server leading stream, or -1.
func streamLeader(c *natstest.Cluster, stream string) int {
	for i, s := range c.Servers {
		if s != nil && s.JetStreamIsStreamLeader("$G", stream) {
			return i
		}
	}
	return -1
}

// waitHealthy waits until, at least 1.5 s after since, the last 1.5 s saw
// webhooks acknowledged and delivered at a quarter of the load's rate or
// more: a disturbance (a NATS leader election, commits in flight timing
// out) is over before the next one starts, so each is measured alone.
func waitHealthy(t *testing.T, load *webhookLoad, recv *fleet.Receiver, since time.Time, what string) {
	t.Helper()
	const window = 1500 * time.Millisecond
	want := int(float64(load.rate) * window.Seconds() / 4)
	waitFor(t, 25*time.Second, what, func() bool {
		now := time.Now()
		if now.Sub(since) < window {
			return false
		}
		acks, dels := 0, 0
		for _, a := range slices.Backward(load.acked()) {
			if now.Sub(a.at) > window {
				break
			}
			acks++
		}
		for _, d := range slices.Backward(recv.Deliveries()) {
			if now.Sub(d.At) > window {
				break
			}
			dels++
		}
		return acks >= want && dels >= want
	})
}

func deliveredBy(log []fleet.Delivery, replica string, after time.Time) bool {
	for _, d := range slices.Backward(log) {
		if d.At.Before(after) {
			return false
		}
		if d.Replica == replica {
			return true
		}
	}
	return false
}

// longestAckGap is the longest time in [from, to] without an
// acknowledgement.
func longestAckGap(acks []ack, from, to time.Time) time.Duration {
	var ts []time.Time
	for _, a := range acks {
		if a.at.After(from) && a.at.Before(to) {
			ts = append(ts, a.at)
		}
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	gap, prev := time.Duration(0), from
	for _, t := range append(ts, to) {
		gap = max(gap, t.Sub(prev))
		prev = t
	}
	return gap
}

// partitionsLastDeliveredBy is the partitions of pipeline whose latest
// callback came from replica: those it owned just now.
func partitionsLastDeliveredBy(log []fleet.Delivery, replica, pipeline string) []int {
	last := map[int]string{}
	for _, d := range log {
		if d.Pipeline == pipeline {
			last[cluster.Partition(d.Object, cluster.DefaultPartitions)] = d.Replica
		}
	}
	var out []int
	for p, r := range last {
		if r == replica {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// takeover is how long after killed every partition in parts had a
// callback from another replica than dead; ok false while one has none.
func takeover(log []fleet.Delivery, parts []int, dead string, killed time.Time) (time.Duration, bool) {
	first := map[int]time.Time{}
	for _, d := range log {
		p := cluster.Partition(d.Object, cluster.DefaultPartitions)
		if d.Pipeline == "hooks" && d.Replica != dead && d.At.After(killed) && slices.Contains(parts, p) {
			if _, ok := first[p]; !ok {
				first[p] = d.At
			}
		}
	}
	var worst time.Duration
	for _, p := range parts {
		at, ok := first[p]
		if !ok {
			return 0, false
		}
		worst = max(worst, at.Sub(killed))
	}
	return worst, true
}

// pollTakeover is how long after killed another replica than dead started
// polling path.
func pollTakeover(polls []intercomsim.Poll, path, dead string, killed time.Time) (time.Duration, bool) {
	for _, p := range polls {
		if p.Path == path && p.Client != dead && p.Start.After(killed) {
			return p.Start.Sub(killed), true
		}
	}
	return 0, false
}

// lastPoller is the client of the latest poll of path the simulator saw:
// the replica holding its poll lease now.
func lastPoller(polls []intercomsim.Poll, path string) string {
	for _, p := range slices.Backward(polls) {
		if p.Path == path {
			return p.Client
		}
	}
	return ""
}

func replicaNamed(rs []*fleet.Replica, id string) *fleet.Replica {
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// dumpDeliveries writes the receiver's log as JSON lines (CHAOS_DUMP=file),
// for looking into a failure.
func dumpDeliveries(t *testing.T, path string, log []fleet.Delivery, acks []ack, marks map[string]time.Time) {
	f, err := os.Create(path)
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	enc.Encode(marks)
	for _, a := range acks {
		enc.Encode(map[string]any{"ack": true, "at": a.at, "object": a.obj, "n": a.n, "via": a.via})
	}
	for _, d := range log {
		ch, _ := webhookChange(d)
		enc.Encode(map[string]any{"at": d.At, "replica": d.Replica, "pipeline": d.Pipeline, "object": d.Object, "n": ch.n, "status": d.Status,
			"part": cluster.Partition(d.Object, cluster.DefaultPartitions), "id": d.EventID})
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func withoutLines(s, sub string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, sub) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
