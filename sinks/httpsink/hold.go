package httpsink

import (
	"context"
	"fmt"
)

// HoldPrefix starts the reason of every held sink, so a delivery pause
// written for a hold can be told apart from one written for a 410 Gone.
const HoldPrefix = "no callback URL"

// HoldReason is why the sink holds delivery ("no callback URL: …"), or ""
// when it has a url. The daemon pauses a held pipeline's delivery with
// this reason (runner.PausedKey), so status shows it and nothing is
// attempted; see soc.SyncHolds.
func (s *Sink) HoldReason() string { return s.hold }

// holdDelivery is Deliver for a held sink, reached only if delivery was
// resumed while the sink still has no url. It keeps the event: it returns
// only when ctx ends (a shutdown or reload), which the engine counts as an
// interrupted attempt, never as a failure, so the event stays queued with
// its attempts unchanged.
func (s *Sink) holdDelivery(ctx context.Context) error {
	<-ctx.Done()
	return fmt.Errorf("%s: %w", s.hold, ctx.Err())
}
