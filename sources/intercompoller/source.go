package intercompoller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/sources/intercom"
)

// requestTimeout bounds one HTTP request.
const requestTimeout = time.Minute

// Source is a running intercom_poller.
type Source struct {
	pipeline string
	cfg      settings
	waiter   waiter
	log      *slog.Logger
	clock    engine.Clock
}

var _ engine.Poller = (*Source)(nil)

func newSource(bc engine.BuildContext, cfg settings) *Source {
	bc = bc.WithDefaults()
	return &Source{pipeline: bc.Pipeline, cfg: cfg, waiter: timerWaiter{}, log: bc.Logger, clock: bc.Clock}
}

// Run polls at once, then every refresh_interval, one poll at a time, until
// ctx ends. A failed poll (API down, bad token, no stored token yet) is
// reported through host.ReportError and retried at the next interval with
// the cursor unmoved; Run itself only returns when ctx ends.
func (s *Source) Run(ctx context.Context, host engine.Host) error {
	c, closeClient := s.newClient(host)
	defer closeClient()
	for {
		started := s.clock.Now()
		s.pollAndReport(ctx, host, c, started)
		if ctx.Err() != nil {
			return nil
		}
		next := s.cfg.interval - s.clock.Now().Sub(started)
		if err := s.waiter.wait(ctx, max(next, 0), waitInterval); err != nil {
			return nil
		}
	}
}

// PollOnce runs one poll synchronously (golden-file tests drive the poller
// with it) and returns its error.
func (s *Source) PollOnce(ctx context.Context, host engine.Host) error {
	c, closeClient := s.newClient(host)
	defer closeClient()
	return s.pollAndReport(ctx, host, c, s.clock.Now())
}

func (s *Source) newClient(host engine.Host) (*client, func()) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &client{
		http:    &http.Client{Transport: transport, Timeout: requestTimeout},
		api:     s.cfg.api,
		version: s.cfg.version,
		now:     s.clock.Now,
		wait:    s.waiter,
	}, transport.CloseIdleConnections
}

// lastPollKey records when a poll last succeeded, for status and metrics.
const lastPollKey = "poll/last_success"

// pollAndReport runs one poll and reports its outcome to the pipeline's
// status: an error stays visible until a poll succeeds.
func (s *Source) pollAndReport(ctx context.Context, host engine.Host, c *client, started time.Time) error {
	log := s.log.With("resource", s.cfg.resource)
	n, err := s.poll(ctx, host, c, started)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		err = fmt.Errorf("intercom_poller in pipeline %q (%s): %w; next poll in %s",
			s.pipeline, s.cfg.resource, err, s.cfg.interval)
		host.ReportError(err)
		log.Warn("poll failed", "error", err, "emitted", n)
		return err
	}
	host.ReportError(nil)
	log.Debug("poll done", "emitted", n, "took", s.clock.Now().Sub(started))
	stamp, _ := json.Marshal(s.clock.Now().UTC().Format(time.RFC3339Nano))
	if err := host.Emit(ctx, nil, engine.StateUpdate{Key: lastPollKey, Value: stamp}); err != nil && ctx.Err() == nil {
		log.Warn("recording the poll time", "error", err)
	}
	return nil
}

// poll runs one poll and returns how many events it emitted.
func (s *Source) poll(ctx context.Context, host engine.Host, c *client, started time.Time) (int, error) {
	token, err := s.token(ctx, host)
	if err != nil {
		return 0, err
	}
	cur, err := s.loadCursor(ctx, host, started)
	if err != nil {
		return 0, err
	}
	w := window{lower: cur.At.Add(-s.cfg.pollDelay), upper: started, currentOnly: s.cfg.currentOnly}
	if w.lower.Before(cur.Floor) {
		w.lower = cur.Floor
	}
	if s.cfg.search {
		n, err := s.pollSearch(ctx, host, c, token, cur, w)
		return n, explainAuth(err)
	}
	if s.cfg.scroll {
		n, err := s.pollScroll(ctx, host, c, token, cur, w)
		return n, explainAuth(err)
	}
	n, err := s.pollList(ctx, host, c, token, cur, w)
	return n, explainAuth(err)
}

// explainAuth adds what to do about a 401 or 403.
func explainAuth(err error) error {
	if isAuth(err) {
		return fmt.Errorf("%w: check the token and its scopes", err)
	}
	return err
}

// token is the access token: the configured one, or the stored OAuth
// token named by token_ref, read at every poll so a token stored later is
// picked up without a restart.
func (s *Source) token(ctx context.Context, host engine.Host) (string, error) {
	if s.cfg.tokenRef == "" {
		return s.cfg.token.Reveal(), nil
	}
	t, err := intercom.TokenSource(ctx, host.State, s.cfg.tokenRef).Token()
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// loadCursor reads the stored cursor, or starts one at the configured start
// point and stores it, so a restart does not move "now".
func (s *Source) loadCursor(ctx context.Context, host engine.Host, started time.Time) (cursor, error) {
	key := cursorKey(s.cfg.resource)
	v, ok, err := host.State(ctx, key)
	if err != nil {
		return cursor{}, err
	}
	if ok {
		return decodeCursor(v)
	}
	// Intercom dates are whole seconds: a change in the second the pipeline
	// started counts as after the start.
	begin := started.Truncate(time.Second)
	if !s.cfg.start.now {
		begin = s.cfg.start.at
	}
	if begin.Before(time.Unix(0, 0)) {
		begin = time.Unix(0, 0)
	}
	c := cursor{At: begin.UTC(), Floor: begin.UTC(), Seen: map[string]time.Time{}}
	if err := host.Emit(ctx, nil, engine.StateUpdate{Key: key, Value: c.encode()}); err != nil {
		return cursor{}, fmt.Errorf("storing the start cursor: %w", err)
	}
	return c, nil
}
