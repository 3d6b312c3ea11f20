package httpsink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
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
	signers   []*signer // one per key, in s.keys' order
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
	if u := s.target; u != nil && u.User != nil && s.base.Get("Authorization") == "" {
		// What http.Client does for a URL's userinfo, done once.
		pass, _ := u.User.Password()
		s.base.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
	}
	for _, k := range s.keys {
		s.signers = append(s.signers, newSigner(k))
	}
	s.transport = newTransport(s.policy.MaxInFlight, s.tlsConfig, &s.opened)
	return s, nil
}

// Deliver makes one attempt to POST d.Body, signed, and classifies the
// outcome: nil on 2xx, otherwise a *engine.DeliveryError.
//
// The request goes to the transport directly: http.Client would clone its
// header (to follow redirects, which the sink does not: a 3xx is the
// receiver's answer, classified as Permanent) and parse the URL again on
// every attempt. What else the client does for this request — basic auth
// from the URL's userinfo — is in the sink's base header.
func (s *Sink) Deliver(ctx context.Context, d engine.Delivery) error {
	if s.hold != "" {
		return s.holdDelivery(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body := d.Body
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           s.target,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        s.requestHeader(d),
		Body:          newBodyReader(body),
		GetBody:       func() (io.ReadCloser, error) { return newBodyReader(body), nil },
		ContentLength: int64(len(body)),
		Host:          s.target.Host,
	}).WithContext(ctx)
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return s.transportError(ctx, err)
	}
	return s.classifyResponse(resp)
}

// newBodyReader is a request body over b, which stays unchanged: the
// transport may read it again (GetBody) on a reused connection. It is the
// type http.NewRequest makes, which the transport knows to be in memory: it
// then writes the headers and the body in one write, where another reader
// type costs a flush of the headers and a second write.
func newBodyReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

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
		sigs := make([]string, len(s.signers))
		for i, sg := range s.signers {
			sigs[i] = sg.standard(d.ID, ts, d.Body)
		}
		vals := []string{d.ID, ts, strings.Join(sigs, " ")}
		h[HeaderStandardID] = vals[0:1:1]
		h[HeaderStandardTimestamp] = vals[1:2:2]
		h[HeaderStandardSignature] = vals[2:3:3]
	default:
		if len(s.signers) == 0 {
			h[HeaderElementsID] = []string{d.ID}
			break
		}
		// One allocation for both values.
		vals := []string{d.ID, s.signers[0].elements(d.Body)}
		h[HeaderElementsID] = vals[0:1:1]
		h[HeaderElementsSignature] = vals[1:2:2]
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
