package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// usage is what a server process has consumed so far: CPU from its rusage
// (utime + stime in /proc/PID/stat), allocations from its own runtime
// counters (scraped from /metrics), the store's commits and syncs, and the
// bytes it caused to be written to storage (/proc/PID/io write_bytes).
type usage struct {
	cpu        float64 // seconds
	allocs     float64 // heap objects allocated
	allocBytes float64
	commits    float64
	syncs      float64
	writeBytes float64
	syncsKnown bool // the store reports its fdatasyncs
}

func (u usage) sub(v usage) usage {
	return usage{
		cpu: u.cpu - v.cpu, allocs: u.allocs - v.allocs, allocBytes: u.allocBytes - v.allocBytes,
		commits: u.commits - v.commits, syncs: u.syncs - v.syncs, writeBytes: u.writeBytes - v.writeBytes,
		syncsKnown: u.syncsKnown,
	}
}

// usage reads p's consumption; metricsURL serves go_memstats_* (and, for
// connectord, the store counters).
func (p *proc) usage(metricsURL string) usage {
	m := scrapeAll(metricsURL)
	_, known := m["connectord_store_fdatasyncs_total"]
	return usage{
		cpu:        p.cpuSeconds(),
		allocs:     m["go_memstats_mallocs_total"],
		allocBytes: m["go_memstats_alloc_bytes_total"],
		commits:    m["connectord_store_commits_total"],
		syncs:      m["connectord_store_fdatasyncs_total"],
		writeBytes: p.ioField("write_bytes"),
		syncsKnown: known,
	}
}

// ioField reads one field of /proc/PID/io.
func (p *proc) ioField(name string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// waitDrained waits until connectord's queue is empty, so the final usage
// includes every delivery's acknowledgement commit.
func waitDrained(metricsURL string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m := scrapeAll(metricsURL)
		if q, ok := m[`connectord_queue_events{pipeline="bench-webhooks"}`]; ok && q == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
