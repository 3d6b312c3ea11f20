package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/fleet"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

const chaosPipelines = `pipelines:
  - name: hooks
    source:
      intercom_webhook: {path: /webhooks/intercom, client_secret: chaos-secret}
    transforms:
      - jq: 'include "intercom"; webhook_event'
    sink:
      http: &sink
        url: ${CALLBACK_URL}
        signature: {key: chaos-key}
        timeout: 1s
        max_in_flight: 16
        retry: {initial_interval: 50ms, max_interval: 500ms}
  - name: convs
    source:
      intercom_poller: &poller
        api: ${INTERCOM_API}
        token: tok
        refresh_interval: 1s
        start: all
        pageSize: 5
        resource: conversations
        url: /conversations?order=desc&sort=updated_at
        idField: id
        datesConfiguration: &dates
          updatedDateField: updated_at
          updatedDateFormat: timestamp
          updatedDateTimezone: GMT
          createdDateField: created_at
          createdDateFormat: timestamp
          createdDateTimezone: GMT
    transforms:
      - jq: 'include "intercom"; poll_event'
    sink:
      http: *sink
  - name: arts
    source:
      intercom_poller:
        <<: *poller
        resource: articles
        url: /articles
    transforms:
      - jq: 'include "intercom"; poll_event'
    sink:
      http: *sink
`

// chaosTTL is the replicas' lease TTL: short, so that failovers fit the
// test's budget, long enough for renewals under -race on a loaded box.
const chaosTTL = 3 * time.Second

// TestChaosReplicasAndNATSNodeDie is issue 18's chaos test: a 3-node NATS
// cluster, 3 `connectord run` replicas (child processes) on one stream, the
// Intercom simulator with two polled resources changing while they are
// polled, and a receiver that checks signatures and records every
// callback. Under steady webhook load spread over the replicas, the
// stream-leader node is stopped, then the replica that polls conversations
// is killed (SIGKILL: no lease released), then both come back. Nothing
// acknowledged is lost, duplicates keep their eventId, no object's events
// are reordered, no resource is polled by two replicas at once, and the
// dead replica's work moves within the lease TTL + 1 s.
func TestChaosReplicasAndNATSNodeDie(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: ~30 s")
	}
	began := time.Now()
	root := t.TempDir()
	nc, err := natstest.Start(natstest.Config{Dir: filepath.Join(root, "nats"), Servers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Shutdown()
	natsReady := time.Since(began)

	sim := intercomsim.New(intercomsim.Options{Token: "tok", Seed: 18})
	sim.Populate(intercomsim.Conversations, 30, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	sim.Populate(intercomsim.Articles, 10, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	// Records change while they are polled: a later page's request first
	// updates a record, as a busy workspace does between two pages.
	sim.OnRequest(func(r intercomsim.Request) {
		if r.Page > 1 {
			churnOne(sim)
		}
	})
	recv := &fleet.Receiver{Key: []byte("chaos-key"), FailEvery: 37}
	recvSrv := httptest.NewServer(recv)
	defer recvSrv.Close()

	conf := filepath.Join(root, "pipelines")
	os.Mkdir(conf, 0o755)
	if err := os.WriteFile(filepath.Join(conf, "chaos.yaml"), []byte(chaosPipelines), 0o644); err != nil {
		t.Fatal(err)
	}
	store := nc.URLs() + "?stream=CHAOS&replicas=3"
	var replicas []*fleet.Replica
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("r%d", i)
		api := httptest.NewServer(sim.Client(id)) // the simulator tells replicas apart by address
		defer api.Close()
		logf, err := os.Create(filepath.Join(root, id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		replicas = append(replicas, &fleet.Replica{
			ID: id, Command: testConnectord, Log: logf,
			Args: []string{"--config", conf, "--data", filepath.Join(root, id), "--store", store,
				"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--lease-ttl", chaosTTL.String(),
				"--drain-timeout", "2s", "--watch=false"},
			Env: []string{"INTERCOM_API=" + api.URL, "CALLBACK_URL=" + recvSrv.URL + "/events/" + id},
		})
	}
	defer func() {
		for _, r := range replicas {
			r.Stop(5 * time.Second)
		}
		if t.Failed() {
			for _, r := range replicas {
				b, _ := os.ReadFile(filepath.Join(root, r.ID+".log"))
				t.Logf("--- %s log (tail, without the receiver's 503s) ---\n%s", r.ID, tail(withoutLines(string(b), "answered 503"), 80))
			}
		}
	}()
	// All three at once, as a fleet rolled out together starts: one
	// creates the stream and the lease bucket, the others find them
	// before their leaders are elected and wait for them.
	startAll(t, replicas)
	fleetReady := time.Since(began)

	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	load := &webhookLoad{replicas: replicas, secret: "chaos-secret", rate: 80, objs: 32, max: 4000}
	loadDone := make(chan struct{})
	go func() { load.run(ctx); close(loadDone) }()
	churnDone := make(chan struct{})
	go func() { churn(ctx, sim, 50*time.Millisecond); close(churnDone) }()
	loadStart := time.Now()

	// Warm-up: every replica delivers (partitions are spread).
	waitFor(t, 20*time.Second, "deliveries from all 3 replicas", func() bool {
		per, _ := recv.Counts()
		return per["r1"] > 0 && per["r2"] > 0 && per["r3"] > 0
	})

	// 1. The stream leader's NATS node goes down.
	leader := streamLeader(nc, "CHAOS")
	if leader < 0 {
		t.Fatal("no server leads stream CHAOS")
	}
	natsKilled := time.Now()
	nc.Stop(leader)
	waitHealthy(t, load, recv, natsKilled, "the fleet to take and deliver webhooks again after the NATS leader stopped")
	natsGap := longestAckGap(load.acked(), natsKilled, time.Now())

	// 2. The replica polling conversations crashes.
	victim := replicaNamed(replicas, lastPoller(sim.Polls(), "/conversations"))
	if victim == nil {
		t.Fatal("nobody polled conversations")
	}
	owned := partitionsLastDeliveredBy(recv.Deliveries(), victim.ID, "hooks")
	if len(owned) == 0 {
		t.Errorf("replica %s delivered no partition of its own before the kill: are deliveries partitioned?", victim.ID)
	}
	killed := time.Now()
	victim.Kill()
	var deliveryFailover, pollFailover time.Duration
	waitFor(t, chaosTTL*4, "the crashed replica's partitions and poll taken over", func() bool {
		d, ok := takeover(recv.Deliveries(), owned, victim.ID, killed)
		p, pok := pollTakeover(sim.Polls(), "/conversations", victim.ID, killed)
		deliveryFailover, pollFailover = d, p
		return ok && pok
	})

	// 3. Both come back: the node, then (once the stream has a leader
	// again, see startAll) the replica, with the same id.
	if err := nc.Restart(leader); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "stream CHAOS to have a leader", func() bool { return streamLeader(nc, "CHAOS") >= 0 })
	if err := victim.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if !waitUntil(chaosTTL*4, func() bool { return deliveredBy(recv.Deliveries(), victim.ID, restarted) }) {
		t.Errorf("the restarted replica %s delivered nothing within %v: it got no partitions back", victim.ID, chaosTTL*4)
	}
	rejoin := time.Since(restarted)
	waitHealthy(t, load, recv, restarted, "the healed fleet to take and deliver webhooks")

	stopLoad()
	sim.OnRequest(nil) // the workspace goes quiet: the final versions stay final
	<-loadDone
	<-churnDone
	loadTime := time.Since(loadStart)
	acks := load.acked()
	// Not fatal on time-out: the checks below say what is missing.
	waitUntil(15*time.Second, func() bool {
		log := recv.Deliveries()
		return len(check(log, webhookChange, ackedChanges(acks)).missing) == 0 &&
			len(check(log, pollChange("convs", "conversations"), finalVersions(sim, intercomsim.Conversations)).missing) == 0 &&
			len(check(log, pollChange("arts", "articles"), finalVersions(sim, intercomsim.Articles)).missing) == 0
	})
	drained := time.Since(loadStart)

	log := recv.Deliveries()
	if path := os.Getenv("CHAOS_DUMP"); path != "" {
		dumpDeliveries(t, path, log, acks, map[string]time.Time{"nats_killed": natsKilled, "replica_killed": killed, "replica_restarted": restarted})
	}
	hooks := check(log, webhookChange, ackedChanges(acks))
	convs := check(log, pollChange("convs", "conversations"), finalVersions(sim, intercomsim.Conversations))
	arts := check(log, pollChange("arts", "articles"), finalVersions(sim, intercomsim.Articles))
	for name, c := range map[string]checked{"webhooks": hooks, "conversations": convs, "articles": arts} {
		if len(c.missing) > 0 || len(c.inversions) > 0 || len(c.idChanges) > 0 || c.badSig > 0 {
			t.Errorf("%s: %d missing %v, %d order inversions %v, %d with two eventIds %v, %d bad signatures",
				name, len(c.missing), head(c.missing), len(c.inversions), head(c.inversions), len(c.idChanges), head(c.idChanges), c.badSig)
		}
	}
	if ov := sim.Overlaps(); len(ov) > 0 {
		for _, o := range ov[:min(len(ov), 5)] {
			t.Errorf("%s %s polled by %s (%s–%s) and %s (%s–%s) at once", o.A.Method, o.A.Path,
				o.A.Client, o.A.Start.Format("15:04:05.000"), o.A.End.Format("15:04:05.000"),
				o.B.Client, o.B.Start.Format("15:04:05.000"), o.B.End.Format("15:04:05.000"))
		}
	}
	// The replicas are this test binary: under the race detector they run
	// several times slower, and a takeover's catch-up and rewind with them,
	// so the bound (lease TTL + 1 s) is asserted in the run without
	// it (.ci/run runs this test that way too); with it, every other
	// assertion holds and failover must stay within three TTLs + 1 s (two
	// were exceeded once, 7.4 s, with the machine's load average at 10;
	// a stalled tail, the bug this bound also catches, took 10 s or more).
	limit := chaosTTL + time.Second
	if raceEnabled {
		limit = 3*chaosTTL + time.Second
	}
	if deliveryFailover > limit || pollFailover > limit {
		t.Errorf("failover after a replica crash: deliveries %v, poll %v, want ≤ %v", deliveryFailover, pollFailover, limit)
	}
	per, _ := recv.Counts()
	t.Logf("chaos figures (3 nats-servers and the simulator in the test process, 3 connectord replicas as child processes, lease TTL %v):", chaosTTL)
	t.Logf("  ready: NATS cluster %v, fleet %v", natsReady.Round(10*time.Millisecond), fleetReady.Round(10*time.Millisecond))
	t.Logf("  webhooks: %d acknowledged (%d attempts, %d without 2xx), %d delivered, %d duplicates (same eventId), %d lost, %d order inversions; %.0f acknowledged events/s over %v",
		len(acks), load.sent.Load(), load.failed.Load(), hooks.delivered, hooks.duplicates, len(hooks.missing), len(hooks.inversions), float64(len(acks))/loadTime.Seconds(), loadTime.Round(100*time.Millisecond))
	t.Logf("  polls: conversations %d versions, %d duplicates, %d final versions missing; articles %d versions, %d duplicates, %d missing; %d polls, %d concurrent",
		convs.delivered, convs.duplicates, len(convs.missing), arts.delivered, arts.duplicates, len(arts.missing), len(sim.Polls()), len(sim.Overlaps()))
	t.Logf("  callbacks: %d in all (receiver answered 503 to every 37th), per replica %v", len(log), per)
	t.Logf("  NATS stream-leader node %d stopped: longest gap between acknowledgements %v", leader+1, natsGap.Round(10*time.Millisecond))
	t.Logf("  replica %s killed: its partitions delivered by others after %v, conversations polled by another after %v (limit %v)",
		victim.ID, deliveryFailover.Round(10*time.Millisecond), pollFailover.Round(10*time.Millisecond), limit)
	t.Logf("  restarted replica delivering again after %v; all delivered %v after the load started; test wall %v",
		rejoin.Round(10*time.Millisecond), drained.Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
}
