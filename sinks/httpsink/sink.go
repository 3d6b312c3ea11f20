package httpsink

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/version"
)

// Sink POSTs events to one callback URL. It is safe for concurrent use.
type Sink struct {
	settings
	timeout   time.Duration
	policy    engine.Policy
	clock     engine.Clock
	tlsConfig *tls.Config
	// base is every request's constant headers, canonical, built once:
	// the extra headers, Content-Type and User-Agent.
	base      http.Header
	client    *http.Client
	transport *http.Transport
	opened    atomic.Uint64
}

// Option changes how New builds a Sink.
type Option func(*Sink)

// WithClock sets the clock that stamps webhook-timestamp and resolves
// HTTP-date Retry-After values; the default is the system clock.
func WithClock(c engine.Clock) Option { return func(s *Sink) { s.clock = c } }

// WithTLSConfig sets the TLS client config, e.g. to trust a private CA.
func WithTLSConfig(c *tls.Config) Option { return func(s *Sink) { s.tlsConfig = c } }

// New validates o and builds the sink. Errors are *config.FieldError values
// (joined) naming the field by its YAML path; they never contain a key.
func New(o Options, opts ...Option) (*Sink, error) {
	set, err := validate(o)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		settings: set,
		timeout:  o.Timeout.D(),
		policy:   o.policy(),
		clock:    engine.SystemClock{},
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	for _, opt := range opts {
		opt(s)
	}
	s.base = s.headers.Clone()
	if s.base == nil {
		s.base = make(http.Header, 2)
	}
	s.base.Set("Content-Type", "application/json")
	s.base.Set("User-Agent", version.UserAgent())
	s.transport = newTransport(s.policy.MaxInFlight, s.tlsConfig, &s.opened)
	s.client = &http.Client{
		Transport: s.transport,
		// A redirect is the receiver's answer, classified as Permanent.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// Deliver makes one attempt to POST d.Body, signed, and classifies the
// outcome: nil on 2xx, otherwise a *engine.DeliveryError.
func (s *Sink) Deliver(ctx context.Context, d engine.Delivery) error {
	if s.hold != "" {
		return s.holdDelivery(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(d.Body))
	if err != nil {
		// The URL was validated in New, so only a broken ctx gets here.
		return &engine.DeliveryError{Class: engine.Retry, Err: err}
	}
	req.Header = s.requestHeader(d)
	resp, err := s.client.Do(req)
	if err != nil {
		return s.transportError(ctx, err)
	}
	return s.classifyResponse(resp)
}

// requestHeader is the extra headers plus the sink's own. The bytes signed
// are d.Body, which is exactly what is sent.
// The constant part is copied from base; the names set per request are
// canonical already, so they are assigned without Set's canonicalisation.
func (s *Sink) requestHeader(d engine.Delivery) http.Header {
	h := make(http.Header, len(s.base)+3)
	for k, v := range s.base {
		h[k] = v // never modified: net/http only reads a request's header
	}
	switch s.scheme {
	case SchemeStandard:
		ts := strconv.FormatInt(s.clock.Now().Unix(), 10)
		sigs := make([]string, len(s.keys))
		for i, k := range s.keys {
			sigs[i] = SignStandard(k, d.ID, ts, d.Body)
		}
		h[HeaderStandardID] = []string{d.ID}
		h[HeaderStandardTimestamp] = []string{ts}
		h[HeaderStandardSignature] = []string{strings.Join(sigs, " ")}
	default:
		h[HeaderElementsID] = []string{d.ID}
		if len(s.keys) > 0 {
			h[HeaderElementsSignature] = []string{SignElements(s.keys[0], d.Body)}
		}
	}
	return h
}

// Policy is the concurrency and retry schedule from the options.
func (s *Sink) Policy() engine.Policy { return s.policy }

// Timeout bounds one Deliver call (engine.TimeoutSink).
func (s *Sink) Timeout() time.Duration { return s.timeout }

// Close closes idle connections. Deliveries still running finish on theirs.
func (s *Sink) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// ConnectionsOpened is the number of connections the sink has dialled.
func (s *Sink) ConnectionsOpened() uint64 { return s.opened.Load() }

var (
	_ engine.PolicySink = (*Sink)(nil)
	_ io.Closer         = (*Sink)(nil)
)

// Endpoint names the callback URL without credentials, query or fragment:
// the engine's circuit breaker is kept per endpoint.
func (s *Sink) Endpoint() string { return s.safeURL }

var _ engine.EndpointSink = (*Sink)(nil)
var _ engine.TimeoutSink = (*Sink)(nil)
