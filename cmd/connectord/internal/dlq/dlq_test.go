package dlq_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/connectord/connectord/cmd/connectord/internal/dlq"
	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

func openStore(t *testing.T) *store.Bolt {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// seed queues three events and dead-letters two of them.
func seed(t *testing.T, st store.Store) []store.DeadLetter {
	t.Helper()
	ctx := context.Background()
	var b store.Batch
	for _, id := range []string{"ev-a", "ev-b", "ev-c"} {
		b.Append("p", store.Record{ID: id, Key: id, Body: []byte(`{"id":"` + id + `"}`)})
	}
	if err := st.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.Pending(ctx, "p", 0, 10)
	var d store.Batch
	for _, r := range recs[:2] {
		d.DeadLetter("p", store.DeadLetter{Record: r, Stage: "deliver", Status: 400, Error: "HTTP 400"})
	}
	d.Put("p", runner.PausedKey, []byte("410"))
	if err := st.Commit(ctx, &d); err != nil {
		t.Fatal(err)
	}
	dls, _ := st.DeadLetters(ctx, "p", 0, 10)
	return dls
}

// backend is what the CLI uses: the service directly, or the client over
// the admin API.
type backend interface {
	Replay(context.Context, string, dlq.Selector) (int, error)
	Purge(context.Context, string, dlq.Selector) (int, error)
	PurgeQueue(context.Context, string) (int, error)
}

func TestServiceAndAPI(t *testing.T) {
	for _, mode := range []string{"store", "api"} {
		t.Run(mode, func(t *testing.T) {
			st := openStore(t)
			dls := seed(t, st)
			svc := &dlq.Service{Store: st}
			var be backend = svc
			if mode == "api" {
				mux := http.NewServeMux()
				dlq.Register(mux, svc)
				srv := httptest.NewServer(mux)
				defer srv.Close()
				be = &dlq.Client{Base: srv.URL}
			}
			ctx := context.Background()

			if _, err := be.Replay(ctx, "p", dlq.Selector{IDs: []string{"nope"}}); !errors.Is(err, dlq.ErrNoneSelected) {
				t.Fatalf("replay of an unknown id: %v", err)
			}
			// By eventId: ev-a goes back on the queue with its id and body.
			if n, err := be.Replay(ctx, "p", dlq.Selector{IDs: []string{"ev-a"}}); err != nil || n != 1 {
				t.Fatalf("replay ev-a: %d, %v", n, err)
			}
			recs, _ := st.Pending(ctx, "p", 0, 10)
			if len(recs) != 2 || recs[1].ID != "ev-a" || string(recs[1].Body) != `{"id":"ev-a"}` {
				t.Fatalf("queue after replay: %+v", recs)
			}
			if _, err := st.Value(ctx, "p", runner.PausedKey); !errors.Is(err, store.ErrNotFound) {
				t.Error("replay did not lift the delivery pause")
			}
			// By number: the other dead letter is purged.
			if n, err := be.Purge(ctx, "p", dlq.Selector{IDs: []string{strconv.FormatUint(dls[1].Seq, 10)}}); err != nil || n != 1 {
				t.Fatalf("purge by number: %d, %v", n, err)
			}
			if s, _ := st.Stats(ctx, "p"); s.DeadLetters != 0 || s.Queued != 2 {
				t.Fatalf("stats %+v, want 0 dead letters and 2 queued", s)
			}
			if n, err := be.PurgeQueue(ctx, "p"); err != nil || n != 2 {
				t.Fatalf("purge queue: %d, %v", n, err)
			}
			if s, _ := st.Stats(ctx, "p"); s.Queued != 0 {
				t.Fatalf("queue not purged: %+v", s)
			}
		})
	}
}

type idle struct{}

func (idle) Run(ctx context.Context, _ engine.Host) error { <-ctx.Done(); return nil }

type okSink struct{}

func (okSink) Deliver(context.Context, engine.Delivery) error { return nil }

func TestPurgeQueueRefusesARunningPipeline(t *testing.T) {
	st := openStore(t)
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{{
		Spec:   config.Pipeline{Name: "p", Source: config.Component{Kind: "idle"}, Sink: config.Component{Kind: "ok"}},
		Source: idle{}, Sink: okSink{}, Policy: engine.DefaultPolicy, Hash: "h",
	}})
	defer rt.Shutdown(context.Background())
	svc := &dlq.Service{Store: st, Runtime: rt}
	if _, err := svc.PurgeQueue(context.Background(), "p"); !errors.Is(err, dlq.ErrRunning) {
		t.Fatalf("purging a running pipeline's queue: %v", err)
	}
}

// TestUnknownPipelineIsAnError: locally and over the admin API, a pipeline
// that neither runs nor has stored state is ErrUnknownPipeline, and the
// list of pipelines names the ones that exist.
func TestUnknownPipelineIsAnError(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	svc := &dlq.Service{Store: st}
	mux := http.NewServeMux()
	dlq.Register(mux, svc)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &dlq.Client{Base: srv.URL}
	ctx := context.Background()
	if _, err := svc.List(ctx, "nope", 0, 10); !errors.Is(err, dlq.ErrUnknownPipeline) {
		t.Errorf("local list: %v, want ErrUnknownPipeline", err)
	}
	if _, err := client.List(ctx, "nope", 0, 10); !errors.Is(err, dlq.ErrUnknownPipeline) {
		t.Errorf("remote list: %v, want ErrUnknownPipeline", err)
	}
	if _, err := client.Replay(ctx, "nope", dlq.Selector{All: true}); !errors.Is(err, dlq.ErrUnknownPipeline) {
		t.Errorf("remote replay: %v, want ErrUnknownPipeline", err)
	}
	for name, b := range map[string]interface {
		Pipelines(context.Context) ([]string, error)
	}{"local": svc, "remote": client} {
		if names, err := b.Pipelines(ctx); err != nil || len(names) != 1 || names[0] != "p" {
			t.Errorf("%s pipelines = %v, %v; want [p]", name, names, err)
		}
	}
}
