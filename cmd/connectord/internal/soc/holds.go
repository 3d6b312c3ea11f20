package soc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sinks/httpsink"
)

// holder is a sink that holds its events (an http sink with hold instead
// of url).
type holder interface{ HoldReason() string }

// SyncHolds makes each pipeline's delivery pause match its sink before
// built is applied: a held sink (no callback URL) gets the engine's
// persisted pause with its reason, so its events wait in the queue and
// status shows "paused: no callback URL: …"; a pipeline whose sink has a
// url again loses a pause that a hold wrote (a 410 Gone pause is left to
// `connectord dlq replay`). The runtime reads the pause when a generation
// starts, so calling this before Apply is enough.
func SyncHolds(ctx context.Context, st store.Store, built []*runner.Built) error {
	var b store.Batch
	n := 0
	for _, bl := range built {
		reason := ""
		if h, ok := bl.Sink.(holder); ok {
			reason = h.HoldReason()
		}
		cur, err := st.Value(ctx, bl.Name(), runner.PausedKey)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur = nil
		case err != nil:
			return fmt.Errorf("reading the delivery pause of %s: %w", bl.Name(), err)
		}
		switch {
		case reason != "" && string(cur) != reason:
			b.Put(bl.Name(), runner.PausedKey, []byte(reason))
			n++
		case reason == "" && strings.HasPrefix(string(cur), httpsink.HoldPrefix):
			b.Delete(bl.Name(), runner.PausedKey)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("storing delivery holds: %w", err)
	}
	return nil
}
