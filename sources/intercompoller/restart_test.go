package intercompoller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/engine"
)

// blockAtPage makes the k-th page request of a poll hang until the client
// gives up, and signals when it got there.
func blockAtPage(h *harness, k int) <-chan struct{} {
	reached := make(chan struct{})
	var once atomic.Bool
	h.sim.OnRequest(func(r intercomsim.Request) {
		if r.Page == k && once.CompareAndSwap(false, true) {
			close(reached)
			<-r.Ctx.Done()
		}
	})
	return reached
}

func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestRestartMidPollResumesExactly(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		h := newHarness(t, intercomsim.Options{Seed: 6}, setMode(mode))
		// Groups of records sharing a second, so pages end inside ties.
		for i := range 600 {
			at := epoch.Add(-time.Hour).Unix() + int64(i/7)
			h.sim.CreateAt(intercomsim.Conversations, at, at)
		}
		reached := blockAtPage(h, 5)
		h.startNoWait()
		waitClosed(t, reached, "page 5")
		h.stop()
		if mode == "search" && h.storedSoFar() != 4*50 {
			t.Errorf("search mode stored %d events before the restart, want the 4 pages read", h.storedSoFar())
		}
		if mode == "list" && h.storedSoFar() != 0 {
			t.Errorf("list mode stored %d events before its walk ended, want 0", h.storedSoFar())
		}

		// A new runtime on a reopened store resumes from the cursor.
		h.sim.OnRequest(nil)
		h.st.Close()
		h.openStore()
		h.start()
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
	})
}

// storedSoFar counts events delivered or still queued (after stop).
func (h *harness) storedSoFar() int {
	s, err := h.st.Stats(context.Background(), testPipeline)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(h.sink.snapshot()) + int(s.Queued)
}

// failAfter is a transform that, from its n-th event on, blocks until its
// context ends, as if the process were killed while storing a later chunk.
type failAfter struct {
	n       int64
	seen    atomic.Int64
	reached chan struct{}
	once    atomic.Bool
}

func (f *failAfter) Apply(ctx context.Context, ev engine.Event) ([]engine.Event, error) {
	if f.seen.Add(1) <= f.n {
		return []engine.Event{ev}, nil
	}
	if f.once.CompareAndSwap(false, true) {
		close(f.reached)
	}
	<-ctx.Done()
	return nil, errors.New("stopped")
}

func TestListRestartBetweenChunks(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 7}, setMode("list"))
	for i := range 450 {
		at := epoch.Add(-time.Hour).Unix() + int64(i/9)
		h.sim.CreateAt(intercomsim.Conversations, at, at)
	}
	// Chunks are 100 events: let two commit, block in the third.
	blocker := &failAfter{n: 250, reached: make(chan struct{})}
	h.tr = []engine.Transform{blocker, captureMeta{}}
	h.startNoWait()
	waitClosed(t, blocker.reached, "the third chunk")
	h.stop()
	if got := h.storedSoFar(); got != 200 {
		t.Fatalf("stored %d events before the restart, want the first two chunks (200)", got)
	}

	h.tr = []engine.Transform{captureMeta{}}
	h.start()
	h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
}
