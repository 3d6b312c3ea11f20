package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// TestMain lets a test run the real command in a child process: with
// CONNECTORD_MAIN set, the test binary is connectord.
func TestMain(m *testing.M) {
	if args := os.Getenv("CONNECTORD_MAIN"); args != "" {
		os.Exit(dispatch(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndVersion(t *testing.T) {
	if code, _, _ := runCLI(); code != exitUsage {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, errs := runCLI("frobnicate"); code != exitUsage || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
	if code, _, _ := runCLI("validate", "--bogus"); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, out, _ := runCLI("version"); code != exitOK || !strings.HasPrefix(out, "connectord ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestValidateShippedPipelines(t *testing.T) {
	code, out, errs := runCLI("validate", "--config", "../../pipelines")
	if code != exitOK {
		t.Fatalf("shipped pipelines do not validate (exit %d):\n%s%s", code, out, errs)
	}
}

func TestValidateReportsEveryErrorWithPosition(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(`name: a
source:
  generator: {intervall: 1s}
sink:
  http: {url: "ftp://x", max_in_flight: lots}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("name: b\nsource: {generator: {}}\ntransforms:\n  - filter: 'event.x +'\nsink: {stdout: {}}\n"), 0o644)
	code, _, errs := runCLI("validate", "--config", dir)
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		filepath.Join(dir, "a.yaml") + `:3:15: generator: unknown field "intervall"`,
		filepath.Join(dir, "a.yaml") + `:5:41: http: field "max_in_flight": expected an integer, got "lots"`,
		filepath.Join(dir, "b.yaml") + ":4:",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in:\n%s", want, errs)
		}
	}
}

func TestValidateRejectsAWebhookPathUsedTwice(t *testing.T) {
	dir := t.TempDir()
	hook := "name: %s\nsource:\n  intercom_webhook: {path: /hook, client_secret: s}\nsink: {stdout: {}}\n"
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(fmt.Sprintf(hook, "a")), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(fmt.Sprintf(hook, "b")), 0o644)
	code, _, errs := runCLI("validate", "--config", dir)
	want := filepath.Join(dir, "b.yaml") + `:3:3: webhook path "/hook" is already used (first at ` + filepath.Join(dir, "a.yaml") + ":3:3)"
	if code != exitInvalid || !strings.Contains(errs, want) {
		t.Fatalf("exit %d, errors:\n%s\nwant %s", code, errs, want)
	}
}

// TestRunGeneratorToStdoutStopsOnSIGTERM runs `connectord run` as a real
// process with a generator→stdout pipeline, waits for events, sends
// SIGTERM and expects a clean exit 0 with the store closed.
func TestRunGeneratorToStdoutStopsOnSIGTERM(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "pipelines")
	os.Mkdir(conf, 0o755)
	os.WriteFile(filepath.Join(conf, "gen.yaml"), []byte("name: gen\nsource: {generator: {interval: 10ms}}\nsink: {stdout: {}}\n"), 0o644)
	data := filepath.Join(root, "data")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONNECTORD_MAIN=run --config "+conf+" --data "+data+" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --log-format json")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	seen := 0
	for seen < 5 && lines.Scan() {
		if strings.Contains(lines.Text(), `"seq":`) {
			seen++
		}
	}
	if seen < 5 {
		cmd.Process.Kill()
		t.Fatalf("no events on stdout; stderr:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go io.Copy(io.Discard, stdout)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not stop within 20s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", stderr.String())
	}
	// The store was closed: it opens without waiting for a lock.
	st, err := store.Open(filepath.Join(data, "connectord.db"), store.WithLockTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("store after stop: %v", err)
	}
	st.Close()
}

// TestDLQReplayBringsDeadLetterToRecoveredReceiver dead-letters an event
// (receiver answers 400), then replays it with the CLI while the daemon
// runs (through the admin API) after the receiver recovered.
func TestDLQReplayBringsDeadLetterToRecoveredReceiver(t *testing.T) {
	var mu sync.Mutex
	healthy := false
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !healthy {
			http.Error(w, "schema mismatch", http.StatusBadRequest)
			return
		}
		got = append(got, r.Header.Get("Elements-Webhook-Id"))
	}))
	defer recv.Close()
	root := t.TempDir()
	conf := filepath.Join(root, "pipelines")
	os.Mkdir(conf, 0o755)
	os.WriteFile(filepath.Join(conf, "gen.yaml"), []byte(fmt.Sprintf(
		"name: gen\nsource: {generator: {interval: 1ms, count: 3}}\nsink: {http: {url: %q, signature: {key: k}}}\n", recv.URL)), 0o644)
	data := filepath.Join(root, "data")
	admin := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONNECTORD_MAIN=run --config "+conf+" --data "+data+" --listen 127.0.0.1:0 --admin "+admin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var out string
	eventually(t, 20*time.Second, func() bool {
		var code int
		code, out, _ = runCLI("dlq", "list", "--pipeline", "gen", "--data", data, "--admin", admin)
		return code == exitOK && strings.Contains(out, "3 dead letter(s)")
	}, func() string {
		return fmt.Sprintf("dead letters never listed; last output %q; daemon:\n%s", out, stderr.String())
	})
	if !strings.Contains(out, "400") {
		t.Fatalf("list lacks the status:\n%s", out)
	}
	mu.Lock()
	healthy = true
	mu.Unlock()
	if code, out, errs := runCLI("dlq", "replay", "--pipeline", "gen", "--all", "--data", data, "--admin", admin); code != exitOK || !strings.Contains(out, "replayed 3") {
		t.Fatalf("replay: exit %d %q %q", code, out, errs)
	}
	delivered := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	eventually(t, 20*time.Second, func() bool { return delivered() == 3 }, func() string {
		return fmt.Sprintf("replayed events not delivered (%d)", delivered())
	})
	mu.Lock()
	sort.Strings(got)
	if strings.Join(got, ",") != "gen-0,gen-1,gen-2" {
		t.Errorf("replayed eventIds = %v, want the originals gen-0..2", got)
	}
	mu.Unlock()

	// --admin needs no local --data; list without --pipeline covers every
	// pipeline; an unknown pipeline is an error, not "0 dead letters".
	if code, out, errs := runCLI("dlq", "list", "--admin", admin, "--data", filepath.Join(root, "nowhere")); code != exitOK || !strings.Contains(out, "in 1 pipeline(s)") {
		t.Errorf("dlq list of all pipelines over --admin: exit %d %q %q", code, out, errs)
	}
	for _, args := range [][]string{
		{"dlq", "list", "--pipeline", "nope", "--admin", admin, "--data", filepath.Join(root, "nowhere")},
		{"dlq", "replay", "--pipeline", "nope", "--all", "--admin", admin},
	} {
		if code, out, errs := runCLI(args...); code != exitInvalid || !strings.Contains(errs, "no such pipeline") {
			t.Errorf("%v: exit %d %q %q, want 1 and no such pipeline", args, code, out, errs)
		}
	}
}

// eventually polls cond every 10ms until it holds; after timeout the test
// fails with why().
func eventually(t *testing.T, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatal(why())
		case <-tick.C:
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSIGHUPReloads: with the watcher off, a new pipeline file is picked up
// on SIGHUP, like a file change.
func TestSIGHUPReloads(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "pipelines")
	os.Mkdir(conf, 0o755)
	gen := "name: %s\nsource: {generator: {interval: 50ms}}\nsink: {stdout: {}}\n"
	os.WriteFile(filepath.Join(conf, "a.yaml"), []byte(fmt.Sprintf(gen, "a")), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONNECTORD_MAIN=run --watch=false --config "+conf+" --data "+filepath.Join(root, "data")+" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --log-format json")
	cmd.Stdout = io.Discard
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(what string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("connectord exited before %q", what)
				}
				if strings.Contains(l, what) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q in the log within 20s", what)
			}
		}
	}
	waitLine(`"msg":"connectord started"`)
	os.WriteFile(filepath.Join(conf, "b.yaml"), []byte(fmt.Sprintf(gen, "b")), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(`"msg":"pipeline started","pipeline":"b"`)
}
