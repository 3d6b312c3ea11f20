package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// outageMain runs the receiver-outage benchmark.
func outageMain(args []string) int {
	fs := flag.NewFlagSet("outage", flag.ExitOnError)
	n := fs.Int("n", 50000, "notifications to send")
	c := fs.Int("c", 32, "concurrent senders")
	rate := fs.Float64("rate", 1250, "notifications per second (0: as fast as the senders go)")
	outage := fs.Duration("outage", 60*time.Second, "how long the receiver is down, from the first notification (it stays down until all are queued)")
	bin := fs.String("connectord", "", "connectord binary (default: go build ./cmd/connectord)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for callbacks after this long")
	fs.Parse(args)
	if *bin == "" {
		b, err := buildConnectord()
		if err != nil {
			fmt.Fprintln(os.Stderr, "building connectord:", err)
			return 1
		}
		*bin = b
	}
	recv, err := startReceiver(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer recv.close()
	recv.down.Store(true)
	dir, err := os.MkdirTemp("", "connectord-outage-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	confDir := filepath.Join(dir, "pipelines")
	os.MkdirAll(confDir, 0o755)
	pipeline := fmt.Sprintf(benchPipeline, clientSecret, recv.url, signatureKey)
	if err := os.WriteFile(filepath.Join(confDir, "bench.yaml"), []byte(pipeline), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	listen, admin := freeAddr(), freeAddr()
	p := &proc{cmd: exec.Command(*bin, "run", "--config", confDir, "--data", filepath.Join(dir, "data"),
		"--listen", listen, "--admin", admin, "--log-level", "warn", "--watch=false")}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
	}()
	if err := waitHTTP("http://"+admin+"/readyz", 20*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("outage: %d signed Intercom notifications at %.0f/s over %d objects; receiver down for %s\n", *n, *rate, 5000, *outage)

	s := &sampler{pid: p.cmd.Process.Pid, metrics: "http://" + admin + "/metrics", stop: make(chan struct{})}
	go s.run()
	start := time.Now()
	load := generate(context.Background(), "http://"+listen+"/webhooks/intercom", *n, *c, *rate, nil)
	queuedAt := time.Since(start)
	if wait := time.Until(start.Add(*outage)); wait > 0 {
		time.Sleep(wait)
	}
	downFor := time.Since(start)
	downCalls := recv.downCalls.Load()
	s.mark() // the peak while down, at the full backlog
	up := time.Now()
	recv.down.Store(false)
	recv.waitFor(*n, *timeout)
	unique, dups, bad, last := recv.counts()
	close(s.stop)
	<-s.done
	recv.mu.Lock()
	inversions := recv.inversions
	recv.mu.Unlock()
	lostAnswered := 0
	for id := range load.answered {
		if !recv.has(id) {
			lostAnswered++
		}
	}
	fmt.Printf("all %d answered in %.1fs (%d webhook retries); receiver down %.1fs; %d delivery attempts while down\n",
		len(load.answered), queuedAt.Seconds(), load.failures, downFor.Seconds(), downCalls)
	fmt.Printf("lost %d (answered-2xx lost %d)  duplicates %d  bad signatures %d  order inversions %d\n", *n-unique, lostAnswered, dups, bad, inversions)
	fmt.Printf("drain after receiver back: %.1fs\n", last.Sub(up).Seconds())
	fmt.Printf("while down: peak queued %.0f, peak RSS %.1f MiB (anonymous %.1f), peak goroutines %.0f\n",
		s.downQueued, s.downRSS, s.downAnon, s.downGoroutines)
	fmt.Printf("whole run: peak RSS %.1f MiB (VmHWM %.1f; anonymous %.1f, the rest is the store file's mapped pages), peak goroutines %.0f\n",
		s.maxRSS, p.peakRSSMiB(), s.maxAnon, s.maxGoroutines)
	if unique < *n || inversions > 0 || lostAnswered > 0 {
		return 1
	}
	return 0
}

// sampler polls connectord's RSS, goroutines and queue depth.
type sampler struct {
	pid     int
	metrics string
	stop    chan struct{}
	done    chan struct{}

	mu                                            sync.Mutex
	maxRSS, maxAnon, maxGoroutines, maxQueued     float64
	downRSS, downAnon, downGoroutines, downQueued float64
	marked                                        bool
}

func (s *sampler) run() {
	s.done = make(chan struct{})
	defer close(s.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *sampler) sample() {
	rss, anon := procMiB(s.pid, "VmRSS"), procMiB(s.pid, "RssAnon")
	m := scrapeAll(s.metrics)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxRSS = max(s.maxRSS, rss)
	s.maxAnon = max(s.maxAnon, anon)
	s.maxGoroutines = max(s.maxGoroutines, m["go_goroutines"])
	s.maxQueued = max(s.maxQueued, m[`connectord_queue_events{pipeline="bench-webhooks"}`])
	if !s.marked {
		s.downRSS, s.downAnon, s.downGoroutines, s.downQueued = s.maxRSS, s.maxAnon, s.maxGoroutines, s.maxQueued
	}
}

// mark freezes the "while down" figures.
func (s *sampler) mark() {
	s.sample()
	s.mu.Lock()
	s.marked = true
	s.mu.Unlock()
}

// procMiB reads one kB field of /proc/PID/status in MiB: VmRSS (all
// resident memory), RssAnon (heap and stacks) or RssFile (mapped file pages:
// the store's mmap, which the kernel can drop at will).
func procMiB(pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func scrapeAll(url string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(url)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
