package intake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner/runnertest"
	"github.com/connectord/connectord/sources/internal/intake"
)

// hostGrab is an HTTP source that hands the test the engine's real Host.
type hostGrab struct{ got chan engine.Host }

func (g *hostGrab) Path() string { return "/grab" }
func (g *hostGrab) Handler(h engine.Host) http.Handler {
	g.got <- h
	return http.NotFoundHandler()
}
func (g *hostGrab) Run(ctx context.Context, _ engine.Host) error { <-ctx.Done(); return nil }

var _ engine.HTTPSource = (*hostGrab)(nil)

func TestSweepOnceIsBoundedAndOldestFirst(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := runnertest.NewClock(epoch)
	g := &hostGrab{got: make(chan engine.Host, 1)}
	h := runnertest.Start(t, runnertest.Config{Source: g, Kind: "grab", Clock: clock})
	host := <-g.got
	ctx := context.Background()

	// 120 marks received one second apart, stored concurrently.
	const n = 120
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := engine.Event{ID: fmt.Sprint("id-", i), Value: map[string]any{"i": i}}
			errs <- intake.EmitOnce(ctx, host, ev, ev.ID, epoch.Add(time.Duration(i)*time.Second))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := host.Emit(ctx, nil, engine.StateUpdate{Key: intake.IndexPrefix + "garbage", Value: []byte{}}); err != nil {
		t.Fatal(err)
	}

	const window = time.Hour
	clock.Advance(window + 70*time.Second) // marks 0..69 are expired
	for _, want := range []int{50, 20, 0} {
		got, err := intake.SweepOnce(ctx, host, clock.Now(), window, 50)
		if err != nil || got != want {
			t.Fatalf("SweepOnce = %d, %v; want %d", got, err, want)
		}
	}
	for i := range n {
		if h.HasMark(fmt.Sprint("id-", i)) != (i >= 70) {
			t.Fatalf("mark id-%d present = %v after sweeping marks older than 70s", i, !(i >= 70))
		}
	}
	// An expired id can be stored again; a live one is still a duplicate.
	if err := intake.EmitOnce(ctx, host, engine.Event{ID: "id-3"}, "id-3", clock.Now()); err != nil {
		t.Fatalf("re-storing an expired id: %v", err)
	}
	if err := intake.EmitOnce(ctx, host, engine.Event{ID: "id-99"}, "id-99", clock.Now()); !errors.Is(err, engine.ErrDuplicate) {
		t.Fatalf("re-storing a live id: %v, want ErrDuplicate", err)
	}

	clock.Advance(2 * window) // everything expires, the malformed key too
	got, err := intake.SweepOnce(ctx, host, clock.Now(), window, 1000)
	if err != nil || got != n-70+1+1 {
		t.Fatalf("final sweep = %d, %v; want %d", got, err, n-70+2)
	}
	if keys := h.StateKeys("dedupe"); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

func TestLongIDsAreHashedIntoBoundedKeys(t *testing.T) {
	g := &hostGrab{got: make(chan engine.Host, 1)}
	h := runnertest.Start(t, runnertest.Config{Source: g, Kind: "grab"})
	host := <-g.got
	long := string(make([]byte, 5000))
	ctx := context.Background()
	if err := intake.EmitOnce(ctx, host, engine.Event{ID: "x"}, long, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := intake.EmitOnce(ctx, host, engine.Event{ID: "x"}, long, time.Now()); !errors.Is(err, engine.ErrDuplicate) {
		t.Fatalf("second: %v, want ErrDuplicate", err)
	}
	for _, k := range h.StateKeys("dedupe") {
		if len(k) > 120 {
			t.Fatalf("key of %d bytes", len(k))
		}
	}
}
