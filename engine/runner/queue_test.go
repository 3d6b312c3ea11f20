package runner_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner"
)

// hostSource hands the test its Host.
type hostSource struct{ host chan engine.Host }

func (s hostSource) Run(ctx context.Context, h engine.Host) error {
	s.host <- h
	<-ctx.Done()
	return nil
}

// TestQueueFullRefusesEmitAndKeepsCursor: at max_queue_events Emit fails
// with ErrQueueFull and commits nothing — neither the events nor the state
// update a poller moves its cursor with; once deliveries drain the queue,
// the same Emit succeeds.
func TestQueueFullRefusesEmitAndKeepsCursor(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	release := make(chan struct{})
	sink := newScriptSink(func(engine.Delivery) error {
		<-release
		return nil
	})
	src := hostSource{host: make(chan engine.Host, 1)}
	b := built("p", "h", src, sink, fastPolicy(3, 1))
	b.Spec.Queue.MaxEvents = 5
	rt := runner.NewRuntime(runner.Options{Store: st})
	defer rt.Shutdown(context.Background())
	rt.Apply(context.Background(), []*runner.Built{b})
	host := <-src.host
	ctx := context.Background()
	var evs []engine.Event
	for i := range 5 {
		evs = append(evs, ev(fmt.Sprintf("e%d", i), "k", i))
	}
	if err := host.Emit(ctx, evs, engine.StateUpdate{Key: "cursor", Value: []byte("5")}); err != nil {
		t.Fatal(err)
	}
	err := host.Emit(ctx, []engine.Event{ev("e5", "k", 5)}, engine.StateUpdate{Key: "cursor", Value: []byte("6")})
	if !errors.Is(err, engine.ErrQueueFull) {
		t.Fatalf("emit over the limit: %v, want ErrQueueFull", err)
	}
	if v, _, _ := host.State(ctx, "cursor"); string(v) != "5" {
		t.Fatalf("cursor = %q after a refused emit, want 5 (unmoved)", v)
	}
	if s, _ := st.Stats(ctx, "p"); s.Queued != 5 {
		t.Fatalf("queued %d, want 5", s.Queued)
	}
	close(release)
	waitFor(t, "queue drained", func() bool { s, _ := st.Stats(ctx, "p"); return s.Queued == 0 })
	if err := host.Emit(ctx, []engine.Event{ev("e5", "k", 5)}, engine.StateUpdate{Key: "cursor", Value: []byte("6")}); err != nil {
		t.Fatalf("emit after the queue drained: %v", err)
	}
	if v, _, _ := host.State(ctx, "cursor"); string(v) != "6" {
		t.Fatalf("cursor = %q, want 6", v)
	}
}
