// Package natsretry retries NATS requests that no server answered.
package natsretry

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

// Unanswered runs request until it returns something other than "no
// responders", for up to within, or until ctx ends, and returns the last
// error. "No responders" means no server took the request, so nothing of
// it was done: a stream or bucket is new and its interest has not reached
// this client's server yet, or its leader is being elected. The pause
// starts at 20 ms and doubles up to maxPause.
func Unanswered(ctx context.Context, within, maxPause time.Duration, request func() error) error {
	pause, deadline := 20*time.Millisecond, time.Now().Add(within)
	for {
		err := request()
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().Add(pause).After(deadline) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
	}
}
