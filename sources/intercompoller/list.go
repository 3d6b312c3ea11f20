package intercompoller

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/connectord/connectord/engine"
)

// emitChunk bounds the events per commit in list mode.
const emitChunk = 100

// pollList reads a newest-first list until it passes the window's lower
// bound, then emits the window's changes oldest first, emitChunk per
// commit, each commit moving the cursor to its last change. Records are
// held as raw JSON until emitted, so memory grows with the changes since the
// cursor, not with the workspace. Nothing is emitted before the walk ends:
// a failed or cancelled walk leaves the cursor where it was.
func (s *Source) pollList(ctx context.Context, host engine.Host, c *client, token string, cur cursor, w window) (int, error) {
	base := s.cfg.url.expand(w.lower)
	target, err := listPageURL(base, s.cfg.pageSize, "")
	if err != nil {
		return 0, err
	}
	found := map[string]change{}
	var prev *change
	for pageNo := 1; ; pageNo++ {
		body, err := c.do(ctx, token, http.MethodGet, target, nil)
		if err != nil {
			return 0, err
		}
		pg, err := decodePage(body, s.cfg.resource)
		if err != nil {
			return 0, fmt.Errorf("page %d: %w", pageNo, err)
		}
		older := len(pg.records) == 0
		for _, raw := range pg.records {
			ch, err := s.cfg.inspect(raw)
			if err != nil {
				return 0, fmt.Errorf("page %d: %w", pageNo, err)
			}
			if prev != nil && ch.updated.After(prev.updated) {
				return 0, fmt.Errorf("%s is not sorted newest updated first (record %s, updated %s, follows record %s, updated %s): "+
					"use a url that sorts by updated_at descending, or mode: search",
					base, ch.id, ch.updated.Format(time.RFC3339), prev.id, prev.updated.Format(time.RFC3339))
			}
			prev = &ch
			// Sorted newest first: once past the lower bound, the rest is
			// older too. created <= updated, so this holds when tracking
			// created dates as well.
			if ch.updated.Before(w.lower) {
				older = true
				continue
			}
			if !w.wants(cur, ch) {
				continue
			}
			if old, ok := found[ch.id]; ok && !ch.at.After(old.at) {
				continue // seen again on a later page after records moved
			}
			ch.raw = bytes.Clone(raw) // don't pin the whole page
			found[ch.id] = ch
		}
		if older {
			break
		}
		switch {
		case pg.nextURL != "":
			target = pg.nextURL
		case pg.after != "":
			if next, _ := listPageURL(base, s.cfg.pageSize, pg.after); next == target {
				return 0, fmt.Errorf("page %d: the API returned the same next cursor again", pageNo)
			}
			if target, err = listPageURL(base, s.cfg.pageSize, pg.after); err != nil {
				return 0, err
			}
		default:
			return s.emitAscending(ctx, host, cur, found, w)
		}
	}
	return s.emitAscending(ctx, host, cur, found, w)
}

// emitAscending emits the found changes oldest first in chunks.
func (s *Source) emitAscending(ctx context.Context, host engine.Host, cur cursor, found map[string]change, w window) (int, error) {
	changes := make([]change, 0, len(found))
	for _, ch := range found {
		changes = append(changes, ch)
	}
	clear(found)
	slices.SortFunc(changes, func(a, b change) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return compareIDs(a.id, b.id)
	})
	emitted := 0
	for len(changes) > 0 {
		n := min(emitChunk, len(changes))
		batch := make([]pending, n)
		for i, ch := range changes[:n] {
			v, err := decodeRecord(ch.raw)
			if err != nil {
				return emitted, fmt.Errorf("record %s: %w", ch.id, err)
			}
			ch.raw = nil
			batch[i] = pending{change: ch, value: v}
		}
		next, err := s.commit(ctx, host, cur, batch, batch[n-1].at, w)
		if err != nil {
			return emitted, err
		}
		cur, emitted = next, emitted+n
		changes[0] = change{} // let emitted records go
		changes = changes[n:]
	}
	return emitted, nil
}

// compareIDs orders numeric ids numerically and others as strings, so ties
// on a date are emitted in a stable order.
func compareIDs(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
