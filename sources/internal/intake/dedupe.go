package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
)

// Dedupe marks live in the pipeline's key-value space as two keys written
// in the same commit as the event:
//
//	dedupe/<id>                 = received time (RFC 3339): the IfAbsent guard
//	dedupe-at/<unix ns>/<id>    = "" : a time-ordered index for the sweep
//
// The index lets a sweep stop at the first mark still inside the window, so
// its work is proportional to what expired, not to how many marks exist.
const (
	MarkPrefix  = "dedupe/"
	IndexPrefix = "dedupe-at/"
)

// maxIDKey bounds the id part of a key; longer ids (a sender's choice) are
// hashed so keys stay small.
const maxIDKey = 200

// MarkKey is the dedupe key of a notification id.
func MarkKey(id string) string { return MarkPrefix + idKey(id) }

func idKey(id string) string {
	if len(id) <= maxIDKey {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:])
}

func indexKey(at time.Time, id string) string {
	return string(appendIndexKey(nil, at, idKey(id)))
}

// appendIndexKey appends the index key of id (already through idKey).
func appendIndexKey(b []byte, at time.Time, id string) []byte {
	b = slices.Grow(b, len(IndexPrefix)+21+len(id))
	b = append(b, IndexPrefix...)
	ns := strconv.AppendInt(make([]byte, 0, 20), max(at.UnixNano(), 0), 10)
	for range 20 - len(ns) {
		b = append(b, '0') // %020d: the keys sort in time order
	}
	b = append(b, ns...)
	b = append(b, '/')
	return append(b, id...)
}

// dedupeKeys are the mark and index keys of id, cut from one string: one
// allocation for both.
func dedupeKeys(at time.Time, id string) (mark, index string) {
	id = idKey(id)
	// Built on the stack, then copied once into the string both share.
	var buf [160]byte
	b := append(buf[:0], MarkPrefix...)
	b = append(b, id...)
	n := len(b)
	both := string(appendIndexKey(b, at, id))
	return both[:n], both[n:]
}

// maxStamp is the longest RFC 3339 time with nanoseconds, in UTC.
const maxStamp = len("2006-01-02T15:04:05.999999999Z")

// markValue is a mark's value: the time its notification was received.
func markValue(received time.Time) []byte {
	return received.UTC().AppendFormat(make([]byte, 0, maxStamp), time.RFC3339Nano)
}

// EmitOnce stores ev unless dedupeID was stored within the window: then it
// returns engine.ErrDuplicate and stores nothing. An empty dedupeID stores
// ev unconditionally.
func EmitOnce(ctx context.Context, host engine.Host, ev engine.Event, dedupeID string, received time.Time) error {
	if dedupeID == "" {
		return host.Emit(ctx, []engine.Event{ev})
	}
	mark, index := dedupeKeys(received, dedupeID)
	// Emit is an interface method, so both of its slices escape: one
	// allocation holds them.
	args := &struct {
		events [1]engine.Event
		state  [2]engine.StateUpdate
	}{
		events: [1]engine.Event{ev},
		state: [2]engine.StateUpdate{
			{Key: mark, Value: markValue(received), IfAbsent: true},
			{Key: index, Value: []byte{}},
		},
	}
	return host.Emit(ctx, args.events[:], args.state[:]...)
}

// SweepOnce deletes up to limit marks received before now-window, oldest
// first, in one commit. It returns how many it deleted; limit deleted means
// more may be waiting.
func SweepOnce(ctx context.Context, host engine.Host, now time.Time, window time.Duration, limit int) (int, error) {
	cutoff := now.Add(-window).UnixNano()
	var del []engine.StateUpdate
	n := 0
	err := host.ScanState(ctx, IndexPrefix, func(key string, _ []byte) bool {
		ns, id, ok := parseIndexKey(key)
		if ok && ns >= cutoff {
			return false // time-ordered: everything after is newer
		}
		del = append(del, engine.StateUpdate{Key: key, Delete: true})
		if ok {
			del = append(del, engine.StateUpdate{Key: MarkPrefix + id, Delete: true})
		}
		n++
		return n < limit
	})
	if err != nil {
		return 0, fmt.Errorf("scanning dedupe marks: %w", err)
	}
	if len(del) == 0 {
		return 0, nil
	}
	if err := host.Emit(ctx, nil, del...); err != nil {
		return 0, fmt.Errorf("deleting %d expired dedupe marks: %w", n, err)
	}
	return n, nil
}

// parseIndexKey splits "dedupe-at/<ns>/<id>"; a malformed key (ok false) is
// deleted by the sweep so it cannot block the ones after it.
func parseIndexKey(key string) (ns int64, id string, ok bool) {
	rest := strings.TrimPrefix(key, IndexPrefix)
	stamp, id, found := strings.Cut(rest, "/")
	if !found || id == "" {
		return 0, "", false
	}
	ns, err := strconv.ParseInt(stamp, 10, 64)
	return ns, id, err == nil
}
