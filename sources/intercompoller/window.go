package intercompoller

import (
	"context"
	"fmt"
	"time"

	"github.com/connectord/connectord/engine"
)

// window is what one poll may emit: changes dated from lower (cursor minus
// pollDelay, not before the start floor) up to upper (the poll's start)
// when currentOnly, that the cursor does not already cover.
type window struct {
	lower       time.Time
	upper       time.Time
	currentOnly bool
}

func (w window) wants(cur cursor, c change) bool {
	switch {
	case c.at.Before(w.lower):
		return false
	case w.currentOnly && c.at.After(w.upper):
		return false
	}
	return !cur.covers(c.id, c.at)
}

// pending is a change ready to emit with its decoded record.
type pending struct {
	change
	value map[string]any
}

// commit emits a batch and moves the cursor to at (capped at the poll's
// start) in the same store commit. On error the old cursor stays valid.
func (s *Source) commit(ctx context.Context, host engine.Host, cur cursor, batch []pending, at time.Time, w window, also ...engine.StateUpdate) (cursor, error) {
	if at.After(w.upper) {
		at = w.upper
	}
	events := make([]engine.Event, len(batch))
	emitted := make(map[string]time.Time, len(batch))
	for i, p := range batch {
		events[i] = s.event(p.change, p.value)
		emitted[p.id] = p.at
	}
	next := cur.advance(at, emitted, s.cfg.pollDelay)
	state := append([]engine.StateUpdate{{Key: cursorKey(s.cfg.resource), Value: next.encode()}}, also...)
	err := host.Emit(ctx, events, state...)
	if err != nil {
		return cur, fmt.Errorf("storing %d events: %w", len(events), err)
	}
	return next, nil
}
