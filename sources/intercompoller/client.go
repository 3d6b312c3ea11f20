package intercompoller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/version"
)

// Retry limits within one poll. A poll that runs out of them fails with the
// cursor where it was; the next poll starts over from there.
const (
	maxServerRetries = 4  // retries of 5xx and network errors: waits 1+2+4+8 s
	maxRateRetries   = 10 // consecutive 429s
	maxRateWait      = 2 * time.Minute
	maxBody          = 64 << 20
)

// client calls the Intercom API politely: it sends the pinned
// Intercom-Version, waits out the rate limit before it is hit (from
// X-RateLimit-* headers) and after a 429, and retries 5xx and network
// errors with backoff. It is used by one poll loop at a time.
type client struct {
	http    *http.Client
	api     *url.URL
	version string
	now     func() time.Time
	wait    waiter

	// From the last response's X-RateLimit-* headers.
	rateKnown bool
	remaining int
	limit     int
	reset     time.Time
}

// statusError is a non-2xx answer. It never holds the token.
type statusError struct {
	Method, Path string
	Status       int
	Detail       string // Intercom's error codes and messages
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s %s: Intercom answered %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// isAuth says whether err is a 401 or 403: the token is wrong or lacks a
// scope, which retrying within the poll cannot fix.
func isAuth(err error) bool {
	var se *statusError
	return errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden)
}

// do sends one request (retrying as described on client) and returns the
// body of the 2xx answer.
func (c *client) do(ctx context.Context, token, method, target string, body []byte) ([]byte, error) {
	u, err := c.resolve(target)
	if err != nil {
		return nil, err
	}
	serverRetries, rateRetries := 0, 0
	for {
		if err := c.waitForBudget(ctx); err != nil {
			return nil, err
		}
		status, data, hdr, err := c.send(ctx, token, method, u, body)
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s %s: %w", method, u.Path, ctx.Err())
		case err == nil && status/100 == 2:
			return data, nil
		case err == nil && status == http.StatusTooManyRequests:
			if rateRetries++; rateRetries > maxRateRetries {
				return nil, statusErr(method, u.Path, status, data)
			}
			if err := c.wait.wait(ctx, c.retryAfter(hdr), waitRateLimit); err != nil {
				return nil, err
			}
		case err != nil || status/100 == 5:
			if serverRetries++; serverRetries > maxServerRetries {
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", method, u.Path, err)
				}
				return nil, statusErr(method, u.Path, status, data)
			}
			if err := c.wait.wait(ctx, time.Second<<(serverRetries-1), waitBackoff); err != nil {
				return nil, err
			}
		default:
			return nil, statusErr(method, u.Path, status, data)
		}
	}
}

func (c *client) resolve(target string) (*url.URL, error) {
	ref, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("bad url %q: %w", target, err)
	}
	if ref.IsAbs() {
		return ref, nil
	}
	u := *c.api
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(ref.Path, "/")
	u.RawPath = ""
	u.RawQuery = ref.RawQuery
	return &u, nil
}

func (c *client) send(ctx context.Context, token, method string, u *url.URL, body []byte) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Intercom-Version", c.version)
	req.Header.Set("User-Agent", version.UserAgent())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, scrub(err, u)
	}
	defer resp.Body.Close()
	c.noteRate(resp.Header)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading response: %w", err)
	}
	return resp.StatusCode, data, resp.Header, nil
}

// scrub drops the URL from a transport error: the url.Error text repeats
// the whole URL, which is noise in status and logs.
func scrub(err error, u *url.URL) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, u.Path, ue.Err)
	}
	return err
}

// noteRate remembers the rate-limit headers of a response.
func (c *client) noteRate(h http.Header) {
	rem, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		c.rateKnown = false
		return
	}
	c.rateKnown, c.remaining, c.reset = true, rem, time.Unix(reset, 0)
	c.limit, _ = strconv.Atoi(h.Get("X-RateLimit-Limit"))
}

// waitForBudget waits until the rate-limit window resets when the last
// response left no more than a small reserve (1% of the limit), so other
// clients of the same app keep some budget and this one never sees a 429.
func (c *client) waitForBudget(ctx context.Context) error {
	if !c.rateKnown || c.remaining > c.limit/100 {
		return nil
	}
	d := c.reset.Sub(c.now())
	c.rateKnown = false
	if d <= 0 {
		return nil
	}
	return c.wait.wait(ctx, min(d, maxRateWait), waitRateLimit)
}

// retryAfter is how long to wait after a 429: Retry-After, else until
// X-RateLimit-Reset, else a second.
func (c *client) retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, maxRateWait)
	}
	if t, err := http.ParseTime(h.Get("Retry-After")); err == nil {
		return min(max(t.Sub(c.now()), 0), maxRateWait)
	}
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		if d := time.Unix(reset, 0).Sub(c.now()); d > 0 {
			return min(d, maxRateWait)
		}
	}
	return time.Second
}

// statusErr builds a statusError with Intercom's error list, if any.
func statusErr(method, path string, status int, body []byte) error {
	var el struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(body, &el) == nil {
		for _, e := range el.Errors {
			parts = append(parts, strings.TrimSpace(e.Code+": "+e.Message))
		}
	}
	detail := strings.Join(parts, "; ")
	if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	return &statusError{Method: method, Path: path, Status: status, Detail: detail}
}
