package admin_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/engine/config"
	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sources/generator"
)

// signingKey must never appear in any admin output.
const signingKey = "sk-do-not-show-7f3a9c"

// receiver is a callback endpoint on 127.0.0.1 answering a settable status.
type receiver struct {
	*httptest.Server
	status atomic.Int32
	hits   atomic.Int64
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.status.Store(int32(status))
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rc.hits.Add(1)
		w.WriteHeader(int(rc.status.Load()))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// generatorPipeline is a pipeline file: count events from the generator,
// delivered to url with a quick retry schedule (retryEvery between
// attempts, at most attempts).
func generatorPipeline(name, url string, count int, retryEvery time.Duration, attempts int) string {
	return fmt.Sprintf(`name: %s
source:
  generator: {interval: 5ms, count: %d, keys: 3}
sink:
  http:
    url: %s
    signature: {key: %q}
    timeout: 5s
    retry:
      max_attempts: %d
      initial_interval: %s
      multiplier: 1
      max_interval: %s
      jitter: false
`, name, count, url, signingKey, attempts, retryEvery, retryEvery)
}

type testDaemon struct {
	*daemon.Daemon
	t         *testing.T
	configDir string
	token     string
}

// startDaemon starts a real daemon: pipeline files (name -> content) in a
// temporary config dir, a bbolt store in a temporary data dir, both
// listeners on port 0.
func startDaemon(t *testing.T, files map[string]string, token string) *testDaemon {
	t.Helper()
	td := &testDaemon{t: t, configDir: t.TempDir(), token: token}
	for name, content := range files {
		td.writeFile(name, content)
	}
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir:    td.configDir,
		DataDir:      t.TempDir(),
		Listen:       "127.0.0.1:0",
		Admin:        "127.0.0.1:0",
		DrainTimeout: 2 * time.Second,
		AdminToken:   config.Secret(token),
	})
	if err != nil {
		t.Fatalf("daemon.Start: %v", err)
	}
	td.Daemon = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx) // the store may have been closed by the test
	})
	return td
}

func (td *testDaemon) writeFile(name, content string) {
	td.t.Helper()
	if err := os.WriteFile(filepath.Join(td.configDir, name), []byte(content), 0o600); err != nil {
		td.t.Fatal(err)
	}
}

func (td *testDaemon) removeFile(name string) {
	td.t.Helper()
	if err := os.Remove(filepath.Join(td.configDir, name)); err != nil {
		td.t.Fatal(err)
	}
}

func (td *testDaemon) reload() daemon.ReloadStatus {
	td.t.Helper()
	return td.Reload(context.Background())
}

// get fetches an admin path with the daemon's token (if any).
func (td *testDaemon) get(path string) (int, []byte) {
	td.t.Helper()
	return getWith(td.t, "http://"+td.AdminAddr()+path, func(r *http.Request) {
		if td.token != "" {
			r.Header.Set("Authorization", "Bearer "+td.token)
		}
	})
}

func getWith(t *testing.T, url string, prepare func(*http.Request)) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(req)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, body
}

// samples is a scrape: `name{labels}` -> value, labels as exposed (sorted).
type samples map[string]float64

func (td *testDaemon) scrape() (samples, []byte) {
	td.t.Helper()
	code, body := td.get("/metrics")
	if code != http.StatusOK {
		td.t.Fatalf("/metrics: %d %s", code, body)
	}
	return parseExposition(td.t, body), body
}

// parseExposition reads the text format: every line not a comment is
// `series value`.
func parseExposition(t *testing.T, body []byte) samples {
	t.Helper()
	out := samples{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// value returns a series' value; ok is false if it is absent.
func (s samples) value(series string) (float64, bool) {
	v, ok := s[series]
	return v, ok
}

// must returns a series' value, failing the test if it is absent.
func (s samples) must(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := s[series]
	if !ok {
		t.Fatalf("metric %s is missing; have:\n%s", series, s.names())
	}
	return v
}

func (s samples) names() string {
	var b strings.Builder
	for k := range s {
		b.WriteString(k + "\n")
	}
	return b.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}

// waitMetric polls /metrics until series equals want.
func (td *testDaemon) waitMetric(series string, want float64) samples {
	td.t.Helper()
	var last samples
	var got float64
	var present bool
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		last, _ = td.scrape()
		got, present = last.value(series)
		if present && got == want {
			return last
		}
		select {
		case <-deadline:
			td.t.Fatalf("%s = %v (present %v), want %v", series, got, present, want)
		case <-tick.C:
		}
	}
}
