// Command connectord-bench measures the whole webhook path of connectord
// against a bare relay baseline, in the same run on the same machine.
//
//	connectord-bench [-n 20000] [-c 32] [-receiver-delay D] [-connectord PATH] [-kill-after K] [-cpuprofile F] [-memprofile F] [-store bolt|nats|both|nats://…]
//	connectord-bench -matrix [-n 20000] [-n1 5000] [-store …]
//
// A load generator posts N unique, realistic, X-Hub-Signature-signed
// Intercom notifications at concurrency C. A receiver verifies every
// callback's Elements-Webhook-Signature and counts unique and duplicate
// eventIds. For each process it prints events/s, CPU µs per event (rusage),
// allocations and bytes allocated per event (the process's own runtime
// counters), store commits and fdatasyncs per event (the store's counters),
// bytes written to storage per event (/proc/PID/io write_bytes) and peak
// RSS. -matrix runs C=1 and C=32 against an instant and a 20ms receiver and
// ends with a Markdown table. In between runs either connectord (as a separate process:
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
	matrix := flag.Bool("matrix", false, "run four cells: C=1 and C=32, receiver instant and after 20ms (C=1 cells send -n1 and -n1/5)")
	n1 := flag.Int("n1", 5000, "with -matrix: notifications in the C=1 instant cell (a fifth of it with the 20ms receiver, whose relay moves 50/s)")
	cpuProfile := flag.String("cpuprofile", "", "connectord writes a CPU profile of its run to this file (with -matrix: one per cell, suffixed)")
	memProfile := flag.String("memprofile", "", "connectord writes an allocation profile of its run to this file at exit (with -matrix: one per cell, suffixed)")
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
	cells := []runConfig{{N: *n, C: *c, ReceiverDelay: *delay, CPUProfile: *cpuProfile, MemProfile: *memProfile}}
	if *matrix {
		cells = []runConfig{
			{N: *n1, C: 1}, {N: *n, C: 32},
			{N: max(1, *n1/5), C: 1, ReceiverDelay: 20 * time.Millisecond}, {N: *n, C: 32, ReceiverDelay: 20 * time.Millisecond},
		}
		for i := range cells {
			if *cpuProfile != "" {
				cells[i].CPUProfile = fmt.Sprintf("%s.c%d-%s", *cpuProfile, cells[i].C, cells[i].ReceiverDelay)
			}
			if *memProfile != "" {
				cells[i].MemProfile = fmt.Sprintf("%s.c%d-%s", *memProfile, cells[i].C, cells[i].ReceiverDelay)
			}
		}
	}
	stores, stop, err := benchStores(*storeFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer stop()
	failed := false
	var rows []cellResult
	for _, cfg := range cells {
		cfg.Timeout = *timeout
		fmt.Printf("workload: %d unique signed Intercom notifications, %d concurrent senders, %d-byte median body, receiver answers after %s\n",
			cfg.N, cfg.C, medianBodySize(cfg.N), cfg.ReceiverDelay)
		row := cellResult{cfg: cfg}
		if !*skipRelay {
			r, err := runRelay(ctx, cfg)
			if err != nil {
				fmt.Fprintln(os.Stderr, "relay:", err)
				stop()
				os.Exit(1)
			}
			row.relay = r
			r.print("bare relay")
			failed = failed || r.lost > 0
		}
		for _, st := range stores {
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
			row.cds = append(row.cds, named{name, cd})
			cd.print(name)
			if row.relay != nil {
				fmt.Printf("ratio %s/relay: events/s %.2fx, CPU per event %.2fx\n",
					name, cd.eventsPerSec()/row.relay.eventsPerSec(), cd.cpuMicros()/row.relay.cpuMicros())
			}
			failed = failed || cd.lost > 0 || cd.badSignatures > 0 || cd.answeredLost > 0
		}
		fmt.Println()
		rows = append(rows, row)
	}
	if *matrix {
		printTable(rows)
	}
	if failed {
		stop()
		os.Exit(1)
	}
}

// cellResult is one cell of the matrix: both systems on one workload.
type cellResult struct {
	cfg   runConfig
	relay *result
	cds   []named // connectord on each store
}

type named struct {
	name string
	r    *result
}

// printTable prints the matrix as the README's Markdown table.
func printTable(rows []cellResult) {
	fmt.Println("| C | receiver | system | events/s | vs relay | CPU µs/event | vs relay | allocs/event | alloc KB/event | store commits/event | fdatasyncs/event | bytes written/event (x record) | peak RSS MiB | answer p50 / p99 ms | lost / dups |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, row := range rows {
		recv := "instant"
		if row.cfg.ReceiverDelay > 0 {
			recv = row.cfg.ReceiverDelay.String()
		}
		for _, sys := range append([]named{{"relay", row.relay}}, row.cds...) {
			r := sys.r
			if r == nil {
				continue
			}
			evRatio, cpuRatio := "", ""
			if sys.name != "relay" && row.relay != nil {
				evRatio = fmt.Sprintf("**%.2fx**", r.eventsPerSec()/row.relay.eventsPerSec())
				cpuRatio = fmt.Sprintf("**%.2fx**", r.cpuMicros()/row.relay.cpuMicros())
			}
			fmt.Printf("| %d | %s | %s | %.0f | %s | %.0f | %s | %.0f | %.1f | %.3f | %s | %.0f (%.2fx) | %.1f | %.1f / %.1f | %d / %d |\n",
				row.cfg.C, recv, sys.name, r.eventsPerSec(), evRatio, r.cpuMicros(), cpuRatio,
				r.per(r.use.allocs), r.per(r.use.allocBytes)/1024, r.per(r.use.commits), r.syncsPerEvent(),
				r.per(r.use.writeBytes), r.per(r.use.writeBytes)/r.recordBytes, r.peakRSSMiB,
				float64(r.p50.Microseconds())/1000, float64(r.p99.Microseconds())/1000, r.lost, r.dups)
		}
	}
}
