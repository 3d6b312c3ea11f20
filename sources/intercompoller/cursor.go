package intercompoller

import (
	"encoding/json"
	"fmt"
	"time"
)

// cursor is the poller's watermark for one resource, stored in the
// pipeline's state under "cursor/<resource>" and written only in the same
// commit as the events it covers.
//
// Every change with a date before At has been emitted, and so has every
// change in Seen: ids emitted with their change date, kept while that date
// is at or after At − pollDelay (or after At). A poll re-reads from At −
// pollDelay and skips what Seen holds, so equal timestamps across a page
// boundary, the re-read window and a restart between commits never emit a
// change twice. Floor is the start baseline: nothing before it is emitted.
type cursor struct {
	At    time.Time
	Seen  map[string]time.Time
	Floor time.Time
}

type cursorJSON struct {
	Version int              `json:"v"`
	At      int64            `json:"at"`              // Unix ns
	Time    string           `json:"time"`            // At in RFC 3339, for status and metrics (cursor lag)
	Floor   int64            `json:"floor,omitempty"` // Unix ns
	Seen    map[string]int64 `json:"seen,omitempty"`  // id -> Unix ns
}

func cursorKey(resource string) string { return "cursor/" + resource }

func (c cursor) encode() []byte {
	j := cursorJSON{Version: 1, At: c.At.UnixNano(), Time: c.At.UTC().Format(time.RFC3339Nano), Seen: make(map[string]int64, len(c.Seen))}
	if !c.Floor.IsZero() {
		j.Floor = c.Floor.UnixNano()
	}
	for id, t := range c.Seen {
		j.Seen[id] = t.UnixNano()
	}
	b, _ := json.Marshal(j) // maps of strings and ints always marshal
	return b
}

func decodeCursor(b []byte) (cursor, error) {
	var j cursorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return cursor{}, fmt.Errorf("corrupt cursor: %w", err)
	}
	if j.Version != 1 {
		return cursor{}, fmt.Errorf("cursor version %d is not supported", j.Version)
	}
	c := cursor{At: time.Unix(0, j.At).UTC(), Seen: make(map[string]time.Time, len(j.Seen))}
	if j.Floor != 0 {
		c.Floor = time.Unix(0, j.Floor).UTC()
	}
	for id, ns := range j.Seen {
		c.Seen[id] = time.Unix(0, ns).UTC()
	}
	return c, nil
}

// covers says whether the change (id, at) was already emitted.
func (c cursor) covers(id string, at time.Time) bool {
	if seen, ok := c.Seen[id]; ok && !at.After(seen) {
		return true
	}
	return false
}

// advance returns the cursor after emitting changes (id -> date), moved to
// at (never backwards) and with Seen pruned to the re-read window. The
// receiver is not modified, so a failed commit leaves it valid.
func (c cursor) advance(at time.Time, emitted map[string]time.Time, pollDelay time.Duration) cursor {
	next := cursor{At: c.At, Floor: c.Floor, Seen: make(map[string]time.Time, len(c.Seen)+len(emitted))}
	if at.After(next.At) {
		next.At = at
	}
	keepFrom := next.At.Add(-pollDelay)
	add := func(id string, t time.Time) {
		if t.Before(keepFrom) {
			return
		}
		if old, ok := next.Seen[id]; !ok || t.After(old) {
			next.Seen[id] = t
		}
	}
	for id, t := range c.Seen {
		add(id, t)
	}
	for id, t := range emitted {
		add(id, t)
	}
	return next
}
