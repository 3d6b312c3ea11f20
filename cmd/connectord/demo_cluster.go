package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/fleet"
)

// demoReplicaCommand starts a replica of `demo --cluster`: this binary's
// `run` (tests replace it with the test binary acting as connectord).
var demoReplicaCommand fleet.Command = fleet.Self

// clusterDemo is `connectord demo --cluster N --store nats://…`: N
// `connectord run` child processes on one NATS store, the Intercom
// simulator (each replica reaching it at an address of its own, so it can
// tell who polls), webhooks spread over the live replicas by a small
// balancer, and a receiver printing each callback with the replica that
// delivered it. A replica that dies (kill -9 its pid) is restarted after
// restartAfter.
type clusterDemo struct {
	n            int
	store        string
	dir          string
	data         string
	every        time.Duration
	poll         string
	leaseTTL     time.Duration
	restartAfter time.Duration
	out          io.Writer
}

func (c *clusterDemo) run(ctx context.Context) int {
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(c.out, "connectord demo:", err)
		return exitInvalid
	}
	sim, _ := startSimulator(simCtx, simLn, simOptions{token: demoToken, records: 50, seed: uint64(time.Now().UnixNano())}, nil)

	recv := &fleet.Receiver{Key: []byte(demoSignatureKey), Forget: true, OnDelivery: func(d fleet.Delivery) {
		sig := "signature OK"
		if !d.Valid {
			sig = "signature BAD"
		}
		fmt.Fprintf(c.out, "%-8s  %-7s %-24s %-8s %-34s %-22s %s\n", time.Now().Format("15:04:05"), d.Replica, d.Pipeline, d.Event, d.Type+"/"+d.Object, short(d.EventID, 22), sig)
	}}
	recvSrv := httptest.NewServer(recv)
	defer recvSrv.Close()

	// Replicas' log lines wait until the header is printed.
	var showLogs atomic.Bool
	var replicas []*fleet.Replica
	for i := 1; i <= c.n; i++ {
		id := fmt.Sprintf("r%d", i)
		api := httptest.NewServer(sim.Client(id))
		defer api.Close()
		replicas = append(replicas, &fleet.Replica{
			ID: id, Command: demoReplicaCommand, Log: &replicaLog{id: id, out: c.out, show: &showLogs},
			Args: []string{"--config", c.dir, "--data", filepath.Join(c.data, id), "--store", c.store,
				"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--lease-ttl", c.leaseTTL.String(), "--drain-timeout", "2s"},
			Env: []string{
				"INTERCOM_API=" + api.URL, "INTERCOM_TOKEN=" + demoToken, "INTERCOM_CLIENT_SECRET=" + demoClientSecret,
				"CALLBACK_URL=" + recvSrv.URL + "/events/" + id, "SIGNATURE_KEY=" + demoSignatureKey, "POLL_INTERVAL=" + c.poll,
			},
		})
	}
	defer func() {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Add(1)
			go func() { defer wg.Done(); r.Stop(5 * time.Second) }()
		}
		wg.Wait()
	}()
	// The first replica creates the stream, the others open it after: a
	// replica opening a stream whose leader is not elected yet is refused.
	if err := replicas[0].Start(time.Minute); err != nil {
		fmt.Fprintln(c.out, "connectord demo:", err)
		return exitInvalid
	}
	errs := make(chan error, len(replicas))
	for _, r := range replicas[1:] {
		go func() { errs <- r.Start(time.Minute) }()
	}
	for range replicas[1:] {
		if err := <-errs; err != nil {
			fmt.Fprintln(c.out, "connectord demo:", err)
			return exitInvalid
		}
	}
	lb := &balancer{replicas: replicas}
	lbSrv := httptest.NewServer(lb)
	defer lbSrv.Close()

	fmt.Fprintf(c.out, "connectord demo: %d replicas on %s, pipelines from %s, Intercom simulator, callbacks verified at %s/events/<replica>\n", c.n, c.store, c.dir, recvSrv.URL)
	for _, r := range replicas {
		fmt.Fprintf(c.out, "  %s  pid %-7d webhooks http://%s   status http://%s/\n", r.ID, r.PID(), r.ListenAddr(), r.AdminAddr())
	}
	fmt.Fprintf(c.out, "webhooks go to %s/webhooks/intercom, which spreads them over the live replicas; a change every %s, polls every %s\n", lbSrv.URL, c.every, c.poll)
	fmt.Fprintf(c.out, "crash a replica with  kill -9 %d  (r1's pid): its polls and delivery partitions move to the others within the lease TTL (%s)", replicas[0].PID(), c.leaseTTL)
	if c.restartAfter > 0 {
		fmt.Fprintf(c.out, "; the demo restarts it after %s", c.restartAfter)
	}
	fmt.Fprintf(c.out, ". Ctrl-C stops everything.\n\n")
	fmt.Fprintf(c.out, "%-8s  %-7s %-24s %-8s %-34s %-22s %s\n", "TIME", "REPLICA", "PIPELINE", "TYPE", "OBJECT", "EVENT ID", "SIGNATURE")
	showLogs.Store(true)

	go sim.Trickle(simCtx, intercomsim.TrickleOptions{Every: c.every, WebhookURL: lbSrv.URL + "/webhooks/intercom", ClientSecret: demoClientSecret})
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() { defer wg.Done(); c.supervise(ctx, r) }()
	}
	<-ctx.Done()
	stopSim()
	wg.Wait()
	per, bad := recv.Counts()
	ids := make([]string, 0, len(per))
	total := 0
	for id, n := range per {
		ids = append(ids, fmt.Sprintf("%s %d", id, n))
		total += n
	}
	sort.Strings(ids)
	fmt.Fprintf(c.out, "\n%d callbacks received (%s), %d with an invalid signature\n", total, strings.Join(ids, ", "), bad)
	if bad > 0 {
		return exitInvalid
	}
	return exitOK
}

// supervise reports a replica's death and restarts it after
// c.restartAfter, until ctx ends.
func (c *clusterDemo) supervise(ctx context.Context, r *fleet.Replica) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.Done():
		}
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(c.out, "%s  %s exited (%v); the others take over its polls and partitions once its leases expire (%s)\n", time.Now().Format("15:04:05"), r.ID, r.ExitErr(), c.leaseTTL)
		if c.restartAfter <= 0 {
			return
		}
		t := time.NewTimer(c.restartAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := r.Start(time.Minute); err != nil {
			fmt.Fprintf(c.out, "%s  %s: restart failed: %v\n", time.Now().Format("15:04:05"), r.ID, err)
			return
		}
		fmt.Fprintf(c.out, "%s  %s restarted: pid %d, webhooks http://%s; it takes its share of partitions back\n", time.Now().Format("15:04:05"), r.ID, r.PID(), r.ListenAddr())
	}
}

// balancer forwards each webhook to the next live replica, trying the
// others when one does not answer: the load balancer in front of a fleet.
type balancer struct {
	replicas []*fleet.Replica
	next     atomic.Uint64
	client   http.Client
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	for range len(b.replicas) {
		rep := b.replicas[b.next.Add(1)%uint64(len(b.replicas))]
		if !rep.Alive() {
			continue
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+rep.ListenAddr()+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			continue
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}

// replicaLog prints the lines of a replica's JSON log worth seeing in the
// demo (warnings, errors, lease and partition changes) as one short line
// each.
type replicaLog struct {
	id   string
	out  io.Writer
	show *atomic.Bool
	buf  []byte
}

func (l *replicaLog) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := l.buf[:i]
		l.buf = l.buf[i+1:]
		_, rest, _ := bytes.Cut(line, []byte(" ")) // fleet prefixes the replica id
		var rec map[string]any
		if json.Unmarshal(rest, &rec) != nil {
			continue
		}
		msg, _ := rec["msg"].(string)
		level, _ := rec["level"].(string)
		if !l.show.Load() || !interesting(level, msg) {
			continue
		}
		var attrs []string
		for _, k := range []string{"pipeline", "held", "error"} {
			if v, ok := rec[k]; ok {
				attrs = append(attrs, fmt.Sprintf("%s=%v", k, v))
			}
		}
		fmt.Fprintf(l.out, "%s  %-7s %s: %s %s\n", time.Now().Format("15:04:05"), l.id, strings.ToLower(level), msg, strings.Join(attrs, " "))
	}
}

func interesting(level, msg string) bool {
	if strings.Contains(msg, "SIMULATOR DEFAULT") || strings.Contains(msg, "demo simulator") {
		return false
	}
	return level == "WARN" || level == "ERROR" || strings.Contains(msg, "lease") || strings.Contains(msg, "partition")
}

// demoStoreHint is printed when --cluster comes without --store.
const demoStoreHint = `demo --cluster needs a NATS JetStream cluster: --store nats://…
Start the three local servers of cmd/connectord/nats/ in one terminal (from the repository root):

  go build -o bin/nats-server github.com/nats-io/nats-server/v2 && (trap 'kill 0' INT; for i in 1 2 3; do bin/nats-server -c cmd/connectord/nats/n$i.conf & done; wait)

then in another:

  go run ./cmd/connectord demo --cluster 3 --store nats://127.0.0.1:4222,127.0.0.1:4223,127.0.0.1:4224
`

func isNATS(store string) bool {
	return strings.HasPrefix(store, "nats://") || strings.HasPrefix(store, "tls://")
}
