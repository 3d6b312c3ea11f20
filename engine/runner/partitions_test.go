package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/runner"
)

func stateOf(rt *runner.Runtime, name string) string {
	for _, p := range rt.Status() {
		if p.Name == name {
			return p.State
		}
	}
	return ""
}

// A pipeline's partition count is recorded by the first replica to run it;
// a replica configured with another count refuses the pipeline, naming
// both, and a reload to another count is refused while the old generation
// goes on.
func TestPartitionCountMustAgree(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	coord := cluster.NewLocal(10*time.Second, nil)
	withParts := func(hash string, n int) *runner.Built {
		b := built("p", hash, newPushSource(), newScriptSink(nil), fastPolicy(3, 1))
		b.Spec.Delivery.Partitions = n
		return b
	}
	ctx := context.Background()
	a := runner.NewRuntime(runner.Options{Store: st, Coordinator: coord, ReplicaID: "a", SharedDelivery: true})
	defer a.Shutdown(ctx)
	a.Apply(ctx, []*runner.Built{withParts("h16", 16)})
	if s := stateOf(a, "p"); s != "running" {
		t.Fatalf("first replica: state %q", s)
	}
	b := runner.NewRuntime(runner.Options{Store: st, Coordinator: coord, ReplicaID: "b", SharedDelivery: true})
	defer b.Shutdown(ctx)
	b.Apply(ctx, []*runner.Built{withParts("h8", 8)})
	if s := stateOf(b, "p"); !strings.HasPrefix(s, "refused: ") || !strings.Contains(s, "says 8") || !strings.Contains(s, "says 16") {
		t.Fatalf("second replica with 8 partitions: state %q, want refused naming 8 and 16", s)
	}
	a.Apply(ctx, []*runner.Built{withParts("h8", 8)})
	if s := stateOf(a, "p"); !strings.Contains(s, "change refused") {
		t.Fatalf("reload to 8 partitions: state %q, want the old generation running, change refused", s)
	}
	// The second replica, fixed, runs.
	b.Apply(ctx, []*runner.Built{withParts("h16", 16)})
	if s := stateOf(b, "p"); s != "running" {
		t.Fatalf("second replica with 16 partitions: state %q", s)
	}
}

// timeoutSink is a sink with a declared timeout.
type timeoutSink struct {
	engine.Sink
	timeout time.Duration
}

func (s timeoutSink) Timeout() time.Duration { return s.timeout }

// With shared delivery a sink timeout that a partition lease cannot
// outlast refuses the pipeline at start-up.
func TestSinkTimeoutMustFitPartitionLease(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx := context.Background()
	rt := runner.NewRuntime(runner.Options{Store: st, Coordinator: cluster.NewLocal(time.Second, nil), ReplicaID: "a", SharedDelivery: true})
	defer rt.Shutdown(ctx)
	rt.Apply(ctx, []*runner.Built{built("slow", "h", newPushSource(), timeoutSink{newScriptSink(nil), time.Second}, fastPolicy(3, 1))})
	if s := stateOf(rt, "slow"); !strings.HasPrefix(s, "refused: sink timeout 1s does not fit") || !strings.Contains(s, "lease TTL 1s") {
		t.Fatalf("state %q, want refused for the sink timeout", s)
	}
	rt.Apply(ctx, []*runner.Built{built("fast", "h", newPushSource(), timeoutSink{newScriptSink(nil), 300 * time.Millisecond}, fastPolicy(3, 1))})
	if s := stateOf(rt, "fast"); s != "running" {
		t.Fatalf("300ms timeout under a 1s lease: state %q", s)
	}
}
