package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// `demo --cluster 3` on a 3-node NATS cluster: three replicas start, events
// arrive via more than one of them with valid signatures, a replica killed
// with kill -9 (the pid the demo prints) is reported and restarted, and the
// demo stops by itself at --duration with exit 0.
func TestDemoClusterShowsEventsFromSeveralReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and three replicas")
	}
	nc, err := natstest.Start(natstest.Config{Dir: t.TempDir(), Servers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Shutdown()
	conf := t.TempDir()
	for _, f := range []string{"intercom-polling.yaml", "intercom-webhooks.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../pipelines", f))
		if err != nil {
			t.Fatal(err)
		}
		// Sink timeouts that fit the test's 2s leases (the shipped 10s
		// need the default 15s).
		b = bytes.ReplaceAll(b, []byte("timeout: 10s"), []byte("timeout: 1s"))
		b = bytes.ReplaceAll(b, []byte("signature:\n      key: ${SIGNATURE_KEY:-demo-signature-key}"), []byte("timeout: 1s\n    signature:\n      key: ${SIGNATURE_KEY:-demo-signature-key}"))
		os.WriteFile(filepath.Join(conf, f), b, 0o644)
	}
	demoReplicaCommand = testConnectord
	defer func() { demoReplicaCommand = nil }()

	out := &syncBuffer{}
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- demoCmd([]string{"--cluster", "3", "--store", nc.URLs(), "--config", conf, "--data", t.TempDir(),
			"--every", "100ms", "--poll", "1s", "--lease-ttl", "2s", "--restart-after", "500ms", "--duration", "12s"}, out, &errOut)
	}()
	waitOutput := func(what string, cond func(string) bool) {
		t.Helper()
		eventually(t, 40*time.Second, func() bool { return cond(out.String()) }, func() string {
			return fmt.Sprintf("timed out waiting for %s; output:\n%s\nstderr:\n%s", what, out.String(), errOut.String())
		})
	}
	viaReplicas := func(s string) map[string]bool {
		seen := map[string]bool{}
		for _, line := range strings.Split(s, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && strings.HasPrefix(f[2], "intercom-") && strings.HasSuffix(line, "signature OK") {
				seen[f[1]] = true
			}
		}
		return seen
	}
	waitOutput("events via two replicas", func(s string) bool { return len(viaReplicas(s)) >= 2 })

	m := regexp.MustCompile(`kill -9 (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no kill command printed:\n%s", out.String())
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitOutput("r1 reported dead and restarted", func(s string) bool {
		return strings.Contains(s, "r1 exited (signal: killed)") && strings.Contains(s, "r1 restarted: pid")
	})

	if code := <-done; code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	s := out.String()
	if strings.Contains(s, "signature BAD") || !strings.Contains(s, ", 0 with an invalid signature") {
		t.Errorf("invalid signatures or no summary:\n%s", s)
	}
	t.Logf("events via %v\n%s", viaReplicas(s), s)
}

// Without --store, --cluster says how to start the NATS servers.
func TestDemoClusterNeedsAStore(t *testing.T) {
	code, _, errs := runCLI("demo", "--cluster", "3")
	if code != exitUsage || !strings.Contains(errs, "bin/nats-server -c cmd/connectord/nats/n$i.conf") {
		t.Fatalf("exit %d, %s", code, errs)
	}
}
