// Command connectord-bench measures the whole webhook path of connectord
// against a bare relay baseline, in the same run on the same machine.
//
//	connectord-bench [-n 20000] [-c 32] [-receiver-delay D] [-connectord PATH] [-kill-after K] [-store bolt|nats|both|nats://…]
//
// A load generator posts N unique, realistic, X-Hub-Signature-signed
// Intercom notifications at concurrency C. A receiver verifies every
// callback's Elements-Webhook-Signature and counts unique and duplicate
// eventIds. In between runs either connectord (as a separate process:
// durable acknowledgement, jq normalisation, an expr filter and the signed
// http sink) or the bare relay (also a separate process: verify, decode,
// build the envelope by hand, sign, forward synchronously, no store).
//
// `connectord-bench outage -n 50000 -outage 60s` stops the receiver (it
// answers 503) while the notifications arrive, starts it again after the
// outage (or once every notification is queued, if that is later), and
// prints what was lost, order inversions per object, the drain time after
// the receiver came back, and connectord's peak RSS, goroutines and queue.
//
// With -kill-after K, connectord is killed with SIGKILL after K answered
// requests and restarted on the same data directory; the generator retries
// what failed, as Intercom does, and the run checks that every notification
// that was answered 2xx reached the receiver.
//
// With -store nats (or both), connectord runs on the JetStream store of a
// 3-node cluster embedded in the bench process (R3, fsync on every write).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "relay" {
		os.Exit(relayMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "outage" {
		os.Exit(outageMain(os.Args[2:]))
	}
	n := flag.Int("n", 20000, "notifications to send")
	c := flag.Int("c", 32, "concurrent senders")
	bin := flag.String("connectord", "", "connectord binary (default: go build ./cmd/connectord)")
	killAfter := flag.Int("kill-after", 0, "SIGKILL connectord after this many 2xx answers, then restart it (0: never)")
	skipRelay := flag.Bool("skip-relay", false, "do not run the bare relay baseline")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up waiting for callbacks after this long")
	delay := flag.Duration("receiver-delay", 0, "time the receiver spends on each callback before answering (its own work; 0: answer at once)")
	storeFlag := flag.String("store", "bolt", "connectord's store: bolt, nats (an embedded 3-node cluster, R3), both (bolt, then nats), or a nats://… URL")
	flag.Parse()

	ctx := context.Background()
	if *bin == "" {
		b, err := buildConnectord()
		if err != nil {
			fmt.Fprintln(os.Stderr, "building connectord:", err)
			os.Exit(1)
		}
		*bin = b
	}
	cfg := runConfig{N: *n, C: *c, Timeout: *timeout, ReceiverDelay: *delay}
	fmt.Printf("workload: %d unique signed Intercom notifications, %d concurrent senders, %d-byte median body, receiver answers after %s\n\n",
		cfg.N, cfg.C, medianBodySize(cfg.N), cfg.ReceiverDelay)

	var relay *result
	if !*skipRelay {
		r, err := runRelay(ctx, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		relay = r
		r.print("bare relay")
	}
	stores, stop, err := benchStores(*storeFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer stop()
	failed := relay != nil && relay.lost > 0
	for i, st := range stores {
		cd, err := runConnectord(ctx, cfg, *bin, *killAfter, st.args)
		if err != nil {
			fmt.Fprintln(os.Stderr, "connectord:", err)
			stop()
			os.Exit(1)
		}
		name := "connectord"
		if len(stores) > 1 || st.label != "bolt" {
			name = "connectord " + st.label
		}
		cd.print(name)
		if relay != nil && i == len(stores)-1 {
			fmt.Printf("\nratio %s/relay events/s: %.2fx (target ≥ 1.5x)\n", name, cd.eventsPerSec()/relay.eventsPerSec())
		}
		failed = failed || cd.lost > 0 || cd.badSignatures > 0
	}
	if failed {
		stop()
		os.Exit(1)
	}
}
