package intercompoller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/connectord/connectord/engine"
)

// pollSearch asks the search API for records dated from the window's lower
// bound, oldest first, and emits each page with the cursor in one commit,
// so memory stays at one page and a restart resumes after the last page
// stored.
func (s *Source) pollSearch(ctx context.Context, host engine.Host, c *client, token string, cur cursor, w window) (int, error) {
	field := s.cfg.updated.name
	if !s.cfg.byUpdated {
		field = s.cfg.created.name
	}
	target := s.cfg.url.expand(w.lower)
	emitted, after := 0, ""
	var prev *change
	for pageNo := 1; ; pageNo++ {
		body, err := json.Marshal(s.searchRequest(field, w.lower, after))
		if err != nil {
			return emitted, err
		}
		resp, err := c.do(ctx, token, http.MethodPost, target, body)
		if err != nil {
			return emitted, err
		}
		pg, err := decodePage(resp, s.cfg.resource)
		if err != nil {
			return emitted, fmt.Errorf("page %d: %w", pageNo, err)
		}
		var batch []pending
		newest, done := cur.At, len(pg.records) == 0
		for _, raw := range pg.records {
			rec, err := decodeRecord(raw)
			if err != nil {
				return emitted, fmt.Errorf("page %d: record is not a JSON object: %w", pageNo, err)
			}
			ch, err := s.cfg.inspectValue(rec, nil)
			if err != nil {
				return emitted, fmt.Errorf("page %d: %w", pageNo, err)
			}
			if prev != nil && ch.at.Before(prev.at) {
				// Moving the cursor per page is only safe in date order.
				return emitted, fmt.Errorf("search results are not sorted by %s ascending (record %s, %s, follows record %s, %s)",
					field, ch.id, ch.at.Format(time.RFC3339), prev.id, prev.at.Format(time.RFC3339))
			}
			prev = &ch
			if w.currentOnly && ch.at.After(w.upper) {
				done = true // oldest first: the rest changed after the poll began
				break
			}
			if !w.wants(cur, ch) {
				continue
			}
			if ch.at.After(newest) {
				newest = ch.at
			}
			batch = append(batch, pending{change: ch, value: rec})
		}
		if len(batch) > 0 {
			if cur, err = s.commit(ctx, host, cur, batch, newest, w); err != nil {
				return emitted, err
			}
			emitted += len(batch)
		}
		if done || pg.after == "" {
			return emitted, nil
		}
		if pg.after == after {
			return emitted, fmt.Errorf("page %d: the API returned the same next cursor again", pageNo)
		}
		after = pg.after
	}
}

// searchRequest is the body of one search page: the tracked date field >=
// the lower bound (Intercom's ">" is "greater or equal"), oldest first. With
// day granularity ">" starts at the next calendar day in the workspace's
// timezone, so the value is a day earlier: whatever that timezone, the
// results then start no later than the bound; earlier records are skipped.
func (s *Source) searchRequest(field string, lower time.Time, after string) map[string]any {
	from := lower.Unix() - 1
	if s.cfg.byDay {
		from = lower.Unix() - 24*3600
	}
	pagination := map[string]any{"per_page": s.cfg.pageSize}
	if after != "" {
		pagination["starting_after"] = after
	}
	return map[string]any{
		"query": map[string]any{"operator": "AND", "value": []any{
			map[string]any{"field": field, "operator": ">", "value": strconv.FormatInt(max(from, 0), 10)},
		}},
		"pagination": pagination,
		"sort":       map[string]any{"field": field, "order": "ascending"},
	}
}
