package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRejectedReloadErrorsPrintedOnce: with an onReload callback (the
// demo's, which prints the errors formatted) the log says only that the
// reload was rejected; SIGHUP's Reload logs each error once, on its own.
func TestRejectedReloadErrorsPrintedOnce(t *testing.T) {
	srv := httptest.NewServer(&collector{})
	defer srv.Close()
	dir, file := pipelineDir(t, "gen.yaml", fmt.Sprintf(genPipeline, "v1", srv.URL))
	logs := &lockedBuffer{}
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir: dir, DataDir: filepath.Join(dir, "..", "data"), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	reloads := make(chan daemon.ReloadStatus, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := d.Watch(ctx, 20*time.Millisecond, func(s daemon.ReloadStatus) { reloads <- s }); err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, file, "name: gen\nsource: {generator: {intervall: 1s}}\nsink: {stdout: {}}\n")
	st := <-reloads
	const msg = `unknown field "intervall"`
	if st.OK || !strings.Contains(st.Error, msg) {
		t.Fatalf("reload: %+v", st)
	}
	if out := logs.String(); !strings.Contains(out, "reload rejected") || strings.Contains(out, "intervall") {
		t.Errorf("with onReload, the log repeats the error:\n%s", out)
	}
	d.Reload(context.Background())
	if n := strings.Count(logs.String(), "intervall"); n != 1 {
		t.Errorf("Reload logged the error %d times, want once:\n%s", n, logs.String())
	}
}
