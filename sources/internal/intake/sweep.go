package intake

import (
	"context"
	"log/slog"
	"time"

	"github.com/connectord/connectord/engine"
)

// Sweeper expires dedupe marks older than Window. It runs as the webhook
// source's Run, off the request path.
type Sweeper struct {
	Window time.Duration
	// Every is the pause between sweeps (default: Window/4, at most 10m).
	Every time.Duration
	// Batch caps the marks deleted per commit (default 500), so a sweep
	// never holds the store long against webhook commits.
	Batch int
	// Logger and Clock come from the source's BuildContext.
	Logger *slog.Logger
	Clock  engine.Clock
}

// catchUp is the pause after a sweep that hit its batch cap: soon, but not
// back to back, so request commits keep their turn.
const catchUp = time.Second

// Run sweeps at start and then periodically until ctx ends. Store errors
// are reported and retried at the next sweep; they never stop the source.
func (s Sweeper) Run(ctx context.Context, host engine.Host) error {
	every, batch := s.every(), s.Batch
	if batch <= 0 {
		batch = 500
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := SweepOnce(ctx, host, s.Clock.Now(), s.Window, batch)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.Logger.Warn("dedupe sweep failed", "error", err)
		case n > 0:
			s.Logger.Debug("dedupe marks expired", "count", n)
		}
		if n == batch {
			t.Reset(catchUp)
		} else {
			t.Reset(every)
		}
	}
}

func (s Sweeper) every() time.Duration {
	if s.Every > 0 {
		return s.Every
	}
	return min(max(s.Window/4, time.Second), 10*time.Minute)
}
