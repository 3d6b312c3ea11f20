package httpsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/connectord/connectord/engine"
)

const (
	// snippetLimit is how much of an error response goes into the
	// DeliveryError (and from there into dead letters and status).
	snippetLimit = 1 << 10
	// drainLimit bounds how much of a response is read so its connection
	// can be reused; a longer body costs a connection, not memory.
	drainLimit = 64 << 10
	// maxRetryAfter caps a receiver's Retry-After.
	maxRetryAfter = 24 * time.Hour
)

// classifyResponse turns resp into nil (2xx) or a *engine.DeliveryError,
// reading at most drainLimit bytes of the body and closing it.
func (s *Sink) classifyResponse(resp *http.Response) error {
	defer resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		// The receiver accepted the event; a body cut short does not undo that.
		drain(resp.Body, drainLimit)
		return nil
	}
	head := make([]byte, snippetLimit)
	n, _ := io.ReadFull(resp.Body, head)
	drain(resp.Body, drainLimit-n)

	de := &engine.DeliveryError{Status: code, Response: snippet(head[:n])}
	switch {
	case code == http.StatusGone:
		de.Class = engine.Gone
		de.Err = fmt.Errorf("%s answered %s: the receiver is gone", s.safeURL, resp.Status)
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		de.Class = engine.Retry
		de.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.clock.Now())
		de.Err = fmt.Errorf("%s answered %s", s.safeURL, resp.Status)
	case code >= 300 && code <= 399:
		de.Class = engine.Permanent
		de.Err = fmt.Errorf("%s answered %s: redirects are not followed", s.safeURL, resp.Status)
	case code >= 400 && code <= 499:
		de.Class = engine.Permanent
		de.Err = fmt.Errorf("%s answered %s", s.safeURL, resp.Status)
	default:
		// 1xx that reached us, or out of range: unexpected, so retry
		// rather than dead-letter.
		de.Class = engine.Retry
		de.Err = fmt.Errorf("%s answered unexpected %s", s.safeURL, resp.Status)
	}
	return de
}

// transportError classifies a failed round trip: always Retry. It replaces
// net/http's *url.Error, whose text holds the URL's query, with the
// redacted URL.
func (s *Sink) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no response within %v: %w", s.timeout, err)
	}
	return &engine.DeliveryError{
		Class: engine.Retry,
		Err:   fmt.Errorf("POST %s: %w", s.safeURL, err),
	}
}

// parseRetryAfter reads a Retry-After value, delta seconds or an HTTP-date
// relative to now. Garbage and past dates give 0 (use the schedule);
// absurd values are capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter // only overflow fails on digits
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return 0
	case d > maxRetryAfter:
		return maxRetryAfter
	}
	return d
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// snippet is b as valid UTF-8: a multi-byte rune cut off at the end is
// dropped, other invalid bytes become U+FFFD.
func snippet(b []byte) string {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				b = b[:len(b)-i]
			}
			break
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// drain reads up to limit bytes so the connection can go back to the pool;
// it reads one byte more to see EOF, which is what returns it.
func drain(r io.Reader, limit int) {
	if limit < 0 {
		limit = 0
	}
	lr := limitedReaders.Get().(*io.LimitedReader)
	lr.R, lr.N = r, int64(limit)+1
	_, _ = io.Copy(io.Discard, lr)
	lr.R = nil
	limitedReaders.Put(lr)
}

// limitedReaders spare drain an allocation on every delivery.
var limitedReaders = sync.Pool{New: func() any { return new(io.LimitedReader) }}
