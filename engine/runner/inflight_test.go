package runner_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner"
)

// TestInFlightBoundAndSlotReuse: with a backlog on many keys, exactly
// max_in_flight deliveries run at once, never more, and every slot a
// finished Deliver frees is taken by the next event (a worker wakes the
// scheduler for a freed slot only when work waits for one).
func TestInFlightBoundAndSlotReuse(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	const limit, n = 4, 40
	var running, started, peak atomic.Int64
	release := make(chan struct{})
	sink := newScriptSink(func(engine.Delivery) error {
		started.Add(1)
		now := running.Add(1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		return nil
	})
	rt := runner.NewRuntime(runner.Options{Store: st})
	defer rt.Shutdown(context.Background())
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, limit))})
	var evs []engine.Event
	for i := range n {
		evs = append(evs, ev(fmt.Sprintf("e%d", i), fmt.Sprintf("k%d", i), i))
	}
	src.emit(t, evs...)
	for done := 0; done < n; done++ {
		want, total := int64(min(limit, n-done)), int64(min(n, done+limit))
		waitFor(t, fmt.Sprintf("%d deliveries running after %d done", want, done), func() bool {
			return started.Load() == total && running.Load() == want
		})
		release <- struct{}{}
	}
	waitFor(t, "all delivered", func() bool { return len(sink.snapshot()) == n })
	if p := peak.Load(); p != limit {
		t.Errorf("peak %d deliveries at once, want max_in_flight %d", p, limit)
	}
	checkOnceInKeyOrder(t, sink)
}
