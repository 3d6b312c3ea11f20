package intercompoller

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
)

// emitChunk bounds the events per commit in list mode.
const emitChunk = 100

// pollList reads a newest-first list until it passes the window's lower
// bound, then emits the window's changes oldest first, emitChunk per
// commit, each commit moving the cursor to its last change.
//
// The list comes newest first but the cursor may only move forward over
// what is stored, so the changes must be emitted in the opposite order to
// the one they are read in. They are staged in the pipeline's state (one
// commit per page) rather than held in memory, so memory stays at a page
// and a chunk however many changes a walk finds — a backfill of a whole
// workspace included. Each emit deletes its staged records in the same
// commit. Nothing is emitted before the walk ends: a failed or cancelled
// walk leaves the cursor where it was, and the next poll clears its
// staging and walks again.
func (s *Source) pollList(ctx context.Context, host engine.Host, c *client, token string, cur cursor, w window) (int, error) {
	if err := s.clearStaging(ctx, host); err != nil {
		return 0, err
	}
	base := s.cfg.url.expand(w.lower)
	target, err := listPageURL(base, s.cfg.pageSize, "")
	if err != nil {
		return 0, err
	}
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
		var staged []engine.StateUpdate
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
			// A record changed during the walk and seen twice (it moved
			// to the front) is staged once per version: both are changes.
			staged = append(staged, engine.StateUpdate{Key: s.stagingKey(ch), Value: bytes.Clone(raw)})
		}
		if len(staged) > 0 {
			if err := host.Emit(ctx, nil, staged...); err != nil {
				return 0, fmt.Errorf("staging page %d: %w", pageNo, err)
			}
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
			return s.emitStaged(ctx, host, cur, w)
		}
	}
	return s.emitStaged(ctx, host, cur, w)
}

// stagingPrefix holds a list walk's changes until they are emitted.
func (s *Source) stagingPrefix() string { return "stage/" + s.cfg.resource + "/" }

// stagingKey orders staged changes by their tracked date, then id: the
// order they are emitted in.
func (s *Source) stagingKey(ch change) string {
	// Flipping the sign bit makes the unsigned, zero-padded number sort
	// like the signed time, dates before 1970 included. Numeric ids are
	// padded so that ties on a date go in numeric order.
	id := ch.id
	if isDigits(id) && len(id) < 20 {
		id = strings.Repeat("0", 20-len(id)) + id
	}
	return fmt.Sprintf("%s%020d/%s", s.stagingPrefix(), uint64(ch.at.UnixNano())^(1<<63), id)
}

// emitStaged emits the staged changes oldest first in chunks, each chunk's
// commit deleting its staged records.
func (s *Source) emitStaged(ctx context.Context, host engine.Host, cur cursor, w window) (int, error) {
	emitted := 0
	for {
		batch, done, err := s.readStaged(ctx, host, emitChunk)
		if err != nil {
			return emitted, err
		}
		if len(batch) == 0 {
			return emitted, nil
		}
		next, err := s.commit(ctx, host, cur, batch, batch[len(batch)-1].at, w, done...)
		if err != nil {
			return emitted, err
		}
		cur, emitted = next, emitted+len(batch)
	}
}

// readStaged reads up to n staged changes in order, with the deletes that
// retire them.
func (s *Source) readStaged(ctx context.Context, host engine.Host, n int) ([]pending, []engine.StateUpdate, error) {
	var (
		batch   []pending
		done    []engine.StateUpdate
		readErr error
	)
	err := host.ScanState(ctx, s.stagingPrefix(), func(key string, raw []byte) bool {
		ch, err := s.cfg.inspect(raw)
		if err == nil {
			var v map[string]any
			if v, err = decodeRecord(raw); err == nil {
				batch = append(batch, pending{change: ch, value: v})
				done = append(done, engine.StateUpdate{Key: key, Delete: true})
				return len(batch) < n
			}
		}
		readErr = fmt.Errorf("staged record %s: %w", key, err)
		return false
	})
	if err == nil {
		err = readErr
	}
	return batch, done, err
}

// clearStaging removes what an interrupted walk staged; the walk that
// follows finds those changes again.
func (s *Source) clearStaging(ctx context.Context, host engine.Host) error {
	for {
		var del []engine.StateUpdate
		err := host.ScanState(ctx, s.stagingPrefix(), func(key string, _ []byte) bool {
			del = append(del, engine.StateUpdate{Key: key, Delete: true})
			return len(del) < 1000
		})
		if err != nil {
			return fmt.Errorf("reading staged changes: %w", err)
		}
		if len(del) == 0 {
			return nil
		}
		if err := host.Emit(ctx, nil, del...); err != nil {
			return fmt.Errorf("clearing staged changes: %w", err)
		}
	}
}
