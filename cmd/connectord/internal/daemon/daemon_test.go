package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sources/generator"
)

// collector is a callback receiver that records event bodies.
type collector struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	c.mu.Lock()
	c.bodies = append(c.bodies, v)
	c.mu.Unlock()
}

func (c *collector) count(pred func(map[string]any) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.bodies {
		if pred(b) {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

const genPipeline = `name: gen
source:
  generator: {interval: 5ms, batch: 2, keys: 3, payload: {tag: %q}}
sink:
  http: {url: %q, signature: {key: k}, retry: {initial_interval: 10ms}}
`

// pipelineDir makes a config directory holding one pipeline file and
// returns the directory and the file.
func pipelineDir(t testing.TB, name, content string) (dir, file string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "pipelines")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

// writeAtomically saves like an editor that writes a temp file and renames.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, dir string) (*daemon.Daemon, chan daemon.ReloadStatus, context.CancelFunc) {
	t.Helper()
	return startWith(t, dir, 20*time.Millisecond)
}

// startDebounced starts a daemon whose watcher uses the production debounce.
func startDebounced(t testing.TB, dir string) (*daemon.Daemon, chan daemon.ReloadStatus, context.CancelFunc) {
	return startWith(t, dir, daemon.DefaultDebounce)
}

func startWith(t testing.TB, dir string, debounce time.Duration) (*daemon.Daemon, chan daemon.ReloadStatus, context.CancelFunc) {
	t.Helper()
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir: dir, DataDir: filepath.Join(dir, "..", "data"), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	reloads := make(chan daemon.ReloadStatus, 16)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := d.Watch(ctx, debounce, func(s daemon.ReloadStatus) {
		select {
		case reloads <- s:
		default: // a benchmark does not read them
		}
	}); err != nil {
		t.Fatal(err)
	}
	return d, reloads, cancel
}

func TestReloadOnFileChangesKeepsRunningOnBadEdit(t *testing.T) {
	recv := &collector{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	dir, file := pipelineDir(t, "gen.yaml", fmt.Sprintf(genPipeline, "v1", srv.URL))

	d, reloads, stop := start(t, dir)
	defer stop()
	defer d.Shutdown(context.Background())
	tagged := func(tag string) func(map[string]any) bool {
		return func(b map[string]any) bool { return b["tag"] == tag }
	}
	eventually(t, "v1 events", func() bool { return recv.count(tagged("v1")) > 0 })
	gen1 := d.Runtime().Status()[0].Generation

	// A rename-save with a change: the pipeline is swapped.
	writeAtomically(t, file, fmt.Sprintf(genPipeline, "v2", srv.URL))
	if st := <-reloads; !st.OK || fmt.Sprint(st.Result.Replaced) != "[gen]" {
		t.Fatalf("reload = %+v, want gen replaced", st)
	}
	eventually(t, "v2 events", func() bool { return recv.count(tagged("v2")) > 0 })
	if g := d.Runtime().Status()[0].Generation; g == gen1 {
		t.Error("generation did not change")
	}

	// A syntax error changes nothing and is reported with its position.
	writeAtomically(t, file, "name: gen\nsource: {generator: {interval: [}\n")
	st := <-reloads
	if st.OK || !strings.Contains(st.Error, "gen.yaml:2:") {
		t.Fatalf("bad reload = %+v, want an error at gen.yaml:2", st)
	}
	before := recv.count(tagged("v2"))
	eventually(t, "the pipeline keeps running after a bad edit", func() bool { return recv.count(tagged("v2")) > before+5 })

	// Delete and re-create (some editors): removed, then started again.
	os.Remove(file)
	if st := <-reloads; fmt.Sprint(st.Result.Stopped) != "[gen]" {
		t.Fatalf("after delete: %+v", st)
	}
	os.WriteFile(file, []byte(fmt.Sprintf(genPipeline, "v3", srv.URL)), 0o644)
	if st := <-reloads; fmt.Sprint(st.Result.Started) != "[gen]" {
		t.Fatalf("after re-create: %+v", st)
	}
	eventually(t, "v3 events", func() bool { return recv.count(tagged("v3")) > 0 })

	// A new file with a new pipeline starts it; the existing one is untouched.
	os.WriteFile(filepath.Join(dir, "more.yml"), []byte(strings.Replace(fmt.Sprintf(genPipeline, "more", srv.URL), "name: gen", "name: more", 1)), 0o644)
	st = <-reloads
	if fmt.Sprint(st.Result.Started, st.Result.Unchanged) != "[more] [gen]" {
		t.Fatalf("new file: %+v", st)
	}
	eventually(t, "events of the new pipeline", func() bool { return recv.count(tagged("more")) > 0 })

	// The generator's counter carried across every generation: no
	// sequence number was delivered twice for the same pipeline.
	recv.mu.Lock()
	seen := map[string]bool{}
	for _, b := range recv.bodies {
		k := fmt.Sprint(b["tag"] == "more", b["seq"])
		if seen[k] {
			t.Errorf("seq %v delivered twice", b["seq"])
		}
		seen[k] = true
	}
	recv.mu.Unlock()
}

func TestStartReportsConfigErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: x\nsource: {generatr: {}}\nsink: {stdout: {}}\n"), 0o644)
	_, err := daemon.Start(context.Background(), daemon.Config{ConfigDir: dir, DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:2:10: unknown source \"generatr\"; did you mean \"generator\"?") {
		t.Fatalf("err = %v", err)
	}
}

// TestReloadOnJQFileChange edits a file a pipeline references with jq_file
// (in another directory): the pipeline reloads and the new program runs.
func TestReloadOnJQFileChange(t *testing.T) {
	recv := &collector{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	root := t.TempDir()
	dir := filepath.Join(root, "pipelines")
	programs := filepath.Join(root, "jq")
	os.Mkdir(dir, 0o755)
	os.Mkdir(programs, 0o755)
	program := filepath.Join(programs, "tag.jq")
	os.WriteFile(program, []byte(`.tag = "one"`), 0o644)
	os.WriteFile(filepath.Join(dir, "gen.yaml"), []byte(fmt.Sprintf(`name: gen
source: {generator: {interval: 5ms}}
transforms:
  - jq_file: ../jq/tag.jq
sink: {http: {url: %q}}
`, srv.URL)), 0o644)
	d, reloads, stop := start(t, dir)
	defer stop()
	defer d.Shutdown(context.Background())
	tagged := func(tag string) func(map[string]any) bool {
		return func(b map[string]any) bool { return b["tag"] == tag }
	}
	eventually(t, "events tagged one", func() bool { return recv.count(tagged("one")) > 0 })
	writeAtomically(t, program, `.tag = "two"`)
	if st := <-reloads; !st.OK || fmt.Sprint(st.Result.Replaced) != "[gen]" {
		t.Fatalf("reload after the jq file changed: %+v", st)
	}
	eventually(t, "events tagged two", func() bool { return recv.count(tagged("two")) > 0 })
}

// TestWatchOneConfigFile: with --config FILE, saving that file reloads it,
// and other files beside it are not read.
func TestWatchOneConfigFile(t *testing.T) {
	recv := &collector{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	dir, file := pipelineDir(t, "gen.yaml", fmt.Sprintf(genPipeline, "one", srv.URL))
	os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("name: other\nsource: {generator: {}}\nsink: {http: {url: "+srv.URL+"}}\n"), 0o644)
	d, reloads, stop := start(t, file)
	defer stop()
	defer d.Shutdown(context.Background())
	tagged := func(tag string) func(map[string]any) bool {
		return func(b map[string]any) bool { return b["tag"] == tag }
	}
	eventually(t, "events tagged one", func() bool { return recv.count(tagged("one")) > 0 })
	writeAtomically(t, file, fmt.Sprintf(genPipeline, "two", srv.URL))
	if st := <-reloads; !st.OK || fmt.Sprint(st.Result.Replaced) != "[gen]" || len(st.Result.Started) != 0 {
		t.Fatalf("reload after the file changed: %+v", st)
	}
	eventually(t, "events tagged two", func() bool { return recv.count(tagged("two")) > 0 })
}
