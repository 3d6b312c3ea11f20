package runner_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner"
)

// goneOnce answers 410 to the first delivery, 2xx after.
func goneOnce() func(engine.Delivery) error {
	var n atomic.Int64
	return func(engine.Delivery) error {
		if n.Add(1) == 1 {
			return &engine.DeliveryError{Class: engine.Gone, Status: 410, Err: errors.New("gone")}
		}
		return nil
	}
}

// TestGonePauseSurvivesRestart: a 410 pause is stored, so a daemon
// restarted while a pipeline is paused stays paused (queued events wait)
// until it is resumed.
func TestGonePauseSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	src := newPushSource()
	rt := runner.NewRuntime(runner.Options{Store: st})
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, newScriptSink(goneOnce()), fastPolicy(3, 1))})
	src.emit(t, ev("first", "k", 1))
	waitFor(t, "pause", func() bool { return rt.Status()[0].State == "paused" })
	src.emit(t, ev("second", "k", 2))
	rt.Shutdown(context.Background())
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	sink := newScriptSink(nil)
	rt = runner.NewRuntime(runner.Options{Store: st})
	defer rt.Shutdown(context.Background())
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", newPushSource(), sink, fastPolicy(3, 1))})
	waitFor(t, "status published", func() bool { return rt.Status()[0].Delivery.Paused != "" || len(sink.snapshot()) > 0 })
	if got := rt.Status()[0].State; got != "paused" || len(sink.snapshot()) != 0 {
		t.Fatalf("after restart: state %q, %d delivered; want paused and nothing delivered", got, len(sink.snapshot()))
	}
	if err := rt.Resume(context.Background(), "p"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after resume", func() bool { return len(sink.snapshot()) == 1 })
}

// TestReplayLiftsGonePause: `dlq replay` of the 410 dead letter lifts the
// pause: the replayed event and the one queued behind it are delivered.
func TestReplayLiftsGonePause(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	src := newPushSource()
	sink := newScriptSink(goneOnce())
	rt := runner.NewRuntime(runner.Options{Store: st})
	defer rt.Shutdown(context.Background())
	rt.Apply(context.Background(), []*runner.Built{built("p", "h", src, sink, fastPolicy(3, 1))})
	src.emit(t, ev("first", "k", 1))
	waitFor(t, "pause", func() bool { return rt.Status()[0].State == "paused" })
	src.emit(t, ev("second", "k", 2))
	dls, err := st.DeadLetters(context.Background(), "p", 0, 10)
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters: %v %v", dls, err)
	}
	if _, err := rt.Replay(context.Background(), "p", dls); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both delivered", func() bool { return len(sink.snapshot()) == 2 })
	if got := rt.Status()[0].State; got == "paused" {
		t.Fatalf("still paused after replay")
	}
}
