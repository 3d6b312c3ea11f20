package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
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

type runConfig struct {
	N, C          int
	Timeout       time.Duration
	ReceiverDelay time.Duration
	CPUProfile    string // connectord writes a CPU profile of its run here
	MemProfile    string // connectord writes an allocation profile of its run here
}

type result struct {
	n              int
	elapsed        time.Duration
	p50, p99       time.Duration
	lost, dups     int
	badSignatures  int
	failedAttempts int
	use            usage // consumed during the run (from ready to drained)
	useKnown       bool  // use covers one process life (no kill)
	recordBytes    float64
	peakRSSMiB     float64
	kills          int
	answeredLost   int
}

func (r *result) eventsPerSec() float64 { return float64(r.n-r.lost) / r.elapsed.Seconds() }

// cpuMicros is CPU µs per event.
func (r *result) cpuMicros() float64 { return r.use.cpu / float64(r.n) * 1e6 }

func (r *result) per(v float64) float64 { return v / float64(r.n) }

func (r *result) print(name string) {
	fmt.Printf("%-19s events/s %8.0f   answer p50 %7s  p99 %7s   CPU µs/event %6.1f   peak RSS %5.1f MiB   lost %d  duplicates %d  bad signatures %d  retried attempts %d\n",
		name, r.eventsPerSec(), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.cpuMicros(), r.peakRSSMiB, r.lost, r.dups, r.badSignatures, r.failedAttempts)
	if r.useKnown {
		fmt.Printf("%-19s allocs/event %6.0f   alloc KB/event %5.1f   store commits/event %.3f   fdatasyncs/event %s   bytes written/event %6.0f (%.2fx the %0.f-byte record)\n",
			"", r.per(r.use.allocs), r.per(r.use.allocBytes)/1024, r.per(r.use.commits), r.syncsPerEvent(),
			r.per(r.use.writeBytes), r.per(r.use.writeBytes)/r.recordBytes, r.recordBytes)
	}
	if r.kills > 0 {
		fmt.Printf("%-19s kills %d, answered-2xx lost %d\n", "", r.kills, r.answeredLost)
	}
}

func (r *result) syncsPerEvent() string {
	if !r.use.syncsKnown {
		return "  n/a"
	}
	return fmt.Sprintf("%.3f", r.per(r.use.syncs))
}

func buildConnectord() (string, error) {
	dir, err := os.MkdirTemp("", "connectord-bench-bin-*")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "connectord")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/connectord")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return out, cmd.Run()
}

// proc is a server process under measurement.
type proc struct {
	cmd *exec.Cmd
}

func (p *proc) cpuSeconds() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func (p *proc) peakRSSMiB() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func waitFile(path string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("%s not written within %s", path, timeout)
}

func waitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %s", url, timeout)
}

// freeAddr is a free loopback address for connectord to listen on. Its port
// is below the kernel's ephemeral range, which the bench's port used to come
// from (a listen on :0): between here and connectord's bind, an outgoing
// connection (connectord's to NATS, a NATS server's routes) or another :0
// listener could take it, and once did ("bind: address already in use").
// Ports outside the range are only ever taken by an explicit bind.
func freeAddr() string {
	handedMu.Lock()
	defer handedMu.Unlock()
	if low := ephemeralLow(); low > minFixedPort+1000 {
		for range 100 {
			port := minFixedPort + rand.IntN(low-minFixedPort)
			if handedOut[port] {
				continue
			}
			addr := "127.0.0.1:" + strconv.Itoa(port)
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				handedOut[port] = true
				return addr
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// minFixedPort keeps clear of the well-known and commonly configured ports.
const minFixedPort = 20000

// handedOut are the ports freeAddr returned: two calls in a row must not give
// the same one (neither is bound yet).
var (
	handedMu  sync.Mutex
	handedOut = map[int]bool{}
)

// ephemeralLow is the first port of the kernel's ephemeral range, 0 if unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return low
}

func runRelay(ctx context.Context, cfg runConfig) (*result, error) {
	recv, err := startReceiver(cfg.ReceiverDelay)
	if err != nil {
		return nil, err
	}
	defer recv.close()
	dir, err := os.MkdirTemp("", "connectord-bench-relay-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	readyFile := filepath.Join(dir, "addr")
	p := &proc{cmd: exec.Command(self, "relay", "-callback", recv.url, "-ready-file", readyFile)}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { p.cmd.Process.Kill(); p.cmd.Wait() }()
	addr, err := waitFile(readyFile, 10*time.Second)
	if err != nil {
		return nil, err
	}
	metrics := "http://" + addr + "/metrics"
	u0 := p.usage(metrics)
	load := generate(ctx, "http://"+addr+"/", cfg.N, cfg.C, 0, nil)
	recv.waitFor(cfg.N, cfg.Timeout)
	r := summarise(cfg, load, recv, p)
	r.use, r.useKnown = p.usage(metrics).sub(u0), true
	return r, nil
}

func summarise(cfg runConfig, load *loadResult, recv *receiver, p *proc) *result {
	unique, dups, bad, last := recv.counts()
	end := last
	if end.Before(load.end) {
		end = load.end
	}
	r := &result{
		n: cfg.N, elapsed: end.Sub(load.start),
		p50: percentile(load.latencies, 0.50), p99: percentile(load.latencies, 0.99),
		lost: cfg.N - unique, dups: dups, badSignatures: bad, failedAttempts: load.failures,
		recordBytes: recv.meanBody(), peakRSSMiB: p.peakRSSMiB(),
	}
	for id := range load.answered {
		if !recv.has(id) {
			r.answeredLost++
		}
	}
	return r
}

const benchPipeline = `pipelines:
  - name: bench-webhooks
    source:
      intercom_webhook:
        path: /webhooks/intercom
        client_secret: %q
    transforms:
      - jq: 'include "intercom"; webhook_event'
      - filter: 'event.message.events[0].eventType != "UNKNOWN"'
    sink:
      http:
        url: %q
        signature: {key: %q, scheme: elements}
        max_in_flight: 64
        timeout: 10s
`

func runConnectord(ctx context.Context, cfg runConfig, bin string, killAfter int, storeArgs []string) (*result, error) {
	recv, err := startReceiver(cfg.ReceiverDelay)
	if err != nil {
		return nil, err
	}
	defer recv.close()
	dir, err := os.MkdirTemp("", "connectord-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	confDir := filepath.Join(dir, "pipelines")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return nil, err
	}
	pipeline := fmt.Sprintf(benchPipeline, clientSecret, recv.url, signatureKey)
	if err := os.WriteFile(filepath.Join(confDir, "bench.yaml"), []byte(pipeline), 0o644); err != nil {
		return nil, err
	}
	listen, admin := freeAddr(), freeAddr()
	start := func() (*proc, error) {
		args := append([]string{"run", "--config", confDir, "--data", filepath.Join(dir, "data"),
			"--listen", listen, "--admin", admin, "--log-level", "warn", "--watch=false"}, storeArgs...)
		p := &proc{cmd: exec.Command(bin, args...)}
		p.cmd.Stderr = os.Stderr
		p.cmd.Env = os.Environ()
		if cfg.CPUProfile != "" {
			p.cmd.Env = append(p.cmd.Env, "CONNECTORD_CPUPROFILE="+cfg.CPUProfile)
		}
		if cfg.MemProfile != "" {
			p.cmd.Env = append(p.cmd.Env, "CONNECTORD_MEMPROFILE="+cfg.MemProfile)
		}
		if err := p.cmd.Start(); err != nil {
			return nil, err
		}
		return p, waitHTTP("http://"+admin+"/readyz", 20*time.Second)
	}
	p, err := start()
	if err != nil {
		return nil, err
	}
	metrics := "http://" + admin + "/metrics"
	u0 := p.usage(metrics)
	var cpuBefore float64 // CPU of processes that were killed
	kills := 0
	restarted := make(chan *proc, 1)
	onAnswer := func(n int) {
		if killAfter > 0 && n == killAfter && kills == 0 {
			kills++
			cpuBefore += p.cpuSeconds()
			p.cmd.Process.Signal(syscall.SIGKILL)
			p.cmd.Wait()
			go func() {
				np, err := start()
				if err != nil {
					fmt.Fprintln(os.Stderr, "restart:", err)
				}
				restarted <- np
			}()
		}
	}
	load := generate(ctx, "http://"+listen+"/webhooks/intercom", cfg.N, cfg.C, 0, onAnswer)
	if kills > 0 {
		p = <-restarted
	}
	recv.waitFor(cfg.N, cfg.Timeout)
	r := summarise(cfg, load, recv, p)
	r.kills = kills
	if kills == 0 {
		waitDrained(metrics, 10*time.Second)
		r.use, r.useKnown = p.usage(metrics).sub(u0), true
	} else {
		r.use.cpu = p.cpuSeconds() + cpuBefore
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return r, err
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
	}
	return r, nil
}
