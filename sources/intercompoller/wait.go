package intercompoller

import (
	"context"
	"time"
)

// waitKind says why the poller waits, so tests can treat waits apart:
// advance a fake clock for rate limits and backoff, and step polls one by
// one at the interval.
type waitKind int

const (
	waitInterval  waitKind = iota // until the next poll
	waitRateLimit                 // until the rate-limit window resets
	waitBackoff                   // before retrying a 5xx or network error
)

// waiter blocks for d or until ctx is done, then returns ctx.Err().
type waiter interface {
	wait(ctx context.Context, d time.Duration, why waitKind) error
}

// timerWaiter waits on the wall clock.
type timerWaiter struct{}

func (timerWaiter) wait(ctx context.Context, d time.Duration, _ waitKind) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
