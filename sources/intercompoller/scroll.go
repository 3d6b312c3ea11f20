package intercompoller

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/connectord/connectord/engine"
)

// maxScrollPages bounds one scroll walk, so an API that never ends its
// scroll fails the poll instead of looping.
const maxScrollPages = 1_000_000

// pollScroll walks a scroll endpoint (GET /companies/scroll) to its end:
// the first request has no scroll_param, each next one sends the
// scroll_param of the answer before, and an empty page ends the walk. The
// records come in no date order, so every page is read; the changes past
// the cursor are staged as in list mode and emitted oldest first once the
// walk is complete. A failed walk (Intercom answers 500 when a scroll
// breaks, and a scroll expires after a minute unused) leaves the cursor
// where it was; the next poll starts a new scroll.
func (s *Source) pollScroll(ctx context.Context, host engine.Host, c *client, token string, cur cursor, w window) (int, error) {
	if err := s.clearStaging(ctx, host); err != nil {
		return 0, err
	}
	base := s.cfg.url.expand(w.lower)
	target := base
	for pageNo := 1; pageNo <= maxScrollPages; pageNo++ {
		body, err := c.do(ctx, token, http.MethodGet, target, nil)
		if err != nil {
			return 0, err
		}
		pg, err := decodePage(body, s.cfg.resource)
		if err != nil {
			return 0, fmt.Errorf("scroll page %d: %w", pageNo, err)
		}
		if len(pg.records) == 0 {
			return s.emitStaged(ctx, host, cur, w)
		}
		var staged []engine.StateUpdate
		for _, raw := range pg.records {
			ch, err := s.cfg.inspect(raw)
			if err != nil {
				return 0, fmt.Errorf("scroll page %d: %w", pageNo, err)
			}
			if w.wants(cur, ch) {
				staged = append(staged, engine.StateUpdate{Key: s.stagingKey(ch), Value: bytes.Clone(raw)})
			}
		}
		if len(staged) > 0 {
			if err := host.Emit(ctx, nil, staged...); err != nil {
				return 0, fmt.Errorf("staging scroll page %d: %w", pageNo, err)
			}
		}
		if pg.scroll == "" {
			return 0, fmt.Errorf("scroll page %d has records but no scroll_param to continue with", pageNo)
		}
		if target, err = scrollPageURL(base, pg.scroll); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("%s: the scroll did not end within %d pages", base, maxScrollPages)
}

// scrollPageURL sets scroll_param on a scroll url.
func scrollPageURL(base, param string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bad url %q: %w", base, err)
	}
	q := u.Query()
	q.Set("scroll_param", param)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
