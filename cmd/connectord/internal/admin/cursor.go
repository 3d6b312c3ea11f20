package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// State keys a polling source writes in its pipeline's key-value space and
// this package reads (leniently) to report staleness: lag is how far the
// cursor trails the clock, last poll is when a poll cycle last succeeded.
const (
	// CursorPrefix + resource holds JSON with the cursor's position:
	// {"time": "<RFC 3339>"} or {"updated": <Unix seconds>}; other fields
	// are ignored. A bare JSON string in RFC 3339 is accepted too.
	CursorPrefix = "cursor/"
	// LastPollKey holds the time of the last successful poll, RFC 3339,
	// as a JSON string or plain text.
	LastPollKey = "poll/last_success"
)

// Cursor is one resource's poll position.
type Cursor struct {
	Resource string    `json:"resource"`
	Time     time.Time `json:"time"`
	// LagSeconds is how far the cursor trails now.
	LagSeconds float64 `json:"lag_seconds"`
}

// freshness is what the store says about a pipeline's staleness.
type freshness struct {
	Cursors  []Cursor
	LastPoll time.Time
}

// maxLag is the largest cursor lag, and false without cursors.
func (f freshness) maxLag() (float64, bool) {
	if len(f.Cursors) == 0 {
		return 0, false
	}
	lag := math.Inf(-1)
	for _, c := range f.Cursors {
		lag = max(lag, c.LagSeconds)
	}
	return lag, true
}

// readFreshness reads the cursor keys and the last poll time. Values it
// cannot understand are skipped: the poller owns their format, and status
// must not fail because of it.
func readFreshness(ctx context.Context, st store.Store, pipeline string, now time.Time) (freshness, error) {
	var f freshness
	err := st.Scan(ctx, pipeline, CursorPrefix, func(key string, value []byte) bool {
		if t, ok := parseCursor(value); ok {
			f.Cursors = append(f.Cursors, Cursor{
				Resource:   strings.TrimPrefix(key, CursorPrefix),
				Time:       t,
				LagSeconds: max(0, now.Sub(t).Seconds()),
			})
		}
		return true
	})
	if err != nil {
		return f, err
	}
	v, err := st.Value(ctx, pipeline, LastPollKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return f, err
	default:
		if t, ok := parseTime(v); ok {
			f.LastPoll = t
		}
	}
	return f, nil
}

// parseCursor reads {"time": RFC 3339}, {"updated": Unix seconds} or a
// bare RFC 3339 string.
func parseCursor(v []byte) (time.Time, bool) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return parseTime(v)
	}
	if raw, ok := doc["time"]; ok {
		if t, ok := parseTime(raw); ok {
			return t, true
		}
	}
	if raw, ok := doc["updated"]; ok {
		return parseUnix(raw)
	}
	return time.Time{}, false
}

// parseTime reads RFC 3339 as a JSON string or as plain text.
func parseTime(v []byte) (time.Time, bool) {
	s := strings.TrimSpace(string(v))
	var js string
	if json.Unmarshal([]byte(s), &js) == nil {
		s = js
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// parseUnix reads Unix seconds as a JSON number or numeric string.
// Values too large to be seconds are taken as milliseconds.
func parseUnix(raw json.RawMessage) (time.Time, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	if f > 1e11 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
