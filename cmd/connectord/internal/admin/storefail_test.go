package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// diskFull fails every commit while full is set, as a full disk does.
type diskFull struct {
	store.Store
	full atomic.Bool
}

func (d *diskFull) Commit(ctx context.Context, b *store.Batch) error {
	if d.full.Load() {
		return fmt.Errorf("store: commit: %w", syscall.ENOSPC)
	}
	return d.Store.Commit(ctx, b)
}

// ticker emits one event every few milliseconds, ignoring failures (as a
// webhook sender keeps retrying).
type ticker struct{}

func (ticker) Run(ctx context.Context, host engine.Host) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = host.Emit(ctx, []engine.Event{{ID: "e", Key: "k", Value: i}})
		}
	}
}

type okSink struct{}

func (okSink) Deliver(context.Context, engine.Delivery) error { return nil }

// TestReadinessWhileStoreCannotCommit: with commits failing (an injected
// disk full) /readyz answers 503 naming the store's error; once commits
// succeed again it is 200.
func TestReadinessWhileStoreCannotCommit(t *testing.T) {
	bolt, err := store.Open(filepath.Join(t.TempDir(), "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	st := &diskFull{Store: bolt}
	rt := runner.NewRuntime(runner.Options{Store: st})
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	rt.Apply(context.Background(), []*runner.Built{{
		Spec:   config.Pipeline{Name: "p", Source: config.Component{Kind: "test"}, Sink: config.Component{Kind: "test"}},
		Source: ticker{}, Sink: okSink{}, Policy: engine.DefaultPolicy, Hash: "h",
	}})
	h := admin.New(admin.Deps{Runtime: rt, Store: st})
	t.Cleanup(func() { h.Close() })
	h.Started()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	waitReady := func(want int, reason string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			code, body := getWith(t, srv.URL+"/readyz", nil)
			if code == want && (reason == "" || strings.Contains(string(body), reason)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz: %d %s; want %d with %q", code, body, want, reason)
			}
			<-tick.C
		}
	}
	waitReady(http.StatusOK, "")
	st.full.Store(true)
	waitReady(http.StatusServiceUnavailable, "no space left on device")
	st.full.Store(false)
	waitReady(http.StatusOK, "")
}
