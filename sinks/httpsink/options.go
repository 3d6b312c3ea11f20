package httpsink

import (
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

// Signature schemes.
const (
	SchemeElements = "elements" // SAP Open Connectors: Elements-Webhook-Signature
	SchemeStandard = "standard" // standardwebhooks.com: webhook-signature
)

// Defaults and limits of the options.
const (
	DefaultTimeout = 10 * time.Second
	MaxInFlightMax = 1024
)

// Options configure the http sink, as written under `sink: {http: …}`.
// Zero values take the defaults, so Options{URL: u} is a complete config.
type Options struct {
	// URL is the callback, http or https. Its userinfo and query may hold
	// tokens: they are sent, but never logged or put in errors.
	URL string `yaml:"url"`
	// Hold, instead of URL, holds delivery: the events wait in the queue
	// until the sink gets a url, and Hold says why in status ("no callback
	// URL: " + Hold). SAP Open Connectors instances created without
	// event.notification.callback.url use it. Exactly one of URL and Hold
	// is set.
	Hold string `yaml:"hold"`
	// Headers are extra request headers. They may not replace the headers
	// the sink sets itself (Content-Type, User-Agent, signatures).
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one attempt, from dialling to the end of the response
	// (default 10s).
	Timeout config.Duration `yaml:"timeout"`
	// MaxInFlight is the number of concurrent deliveries, 1..1024 (default 16).
	MaxInFlight int              `yaml:"max_in_flight"`
	Signature   SignatureOptions `yaml:"signature"`
	Retry       RetryOptions     `yaml:"retry"`
}

// SignatureOptions choose how requests are signed.
type SignatureOptions struct {
	// Key signs requests. Optional for elements, required for standard,
	// where a "whsec_" key is base64-decoded first.
	Key config.Secret `yaml:"key"`
	// Scheme is elements (default) or standard.
	Scheme string `yaml:"scheme"`
	// PreviousKeys are keys still accepted by receivers during a rotation;
	// standard adds one signature per key. Elements sends one signature
	// only, as SAP Open Connectors does, so they are an error there.
	PreviousKeys []config.Secret `yaml:"previous_keys"`
}

// RetryOptions set the engine's backoff for this sink. Zero values take
// engine.DefaultPolicy.Retry (SAP Open Connectors: 10 attempts, 4s × 4^n,
// capped at 6h).
type RetryOptions struct {
	MaxAttempts     int             `yaml:"max_attempts"`
	InitialInterval config.Duration `yaml:"initial_interval"`
	Multiplier      float64         `yaml:"multiplier"`
	MaxInterval     config.Duration `yaml:"max_interval"`
	// Jitter is full jitter (nil: true); false waits the exact schedule.
	Jitter *bool `yaml:"jitter"`
}

func init() {
	engine.Register("http", func() engine.SinkConfig { return &Options{} })
}

// NewSink builds the sink for a pipeline, using its clock.
func (o Options) NewSink(bc engine.BuildContext) (engine.Sink, error) {
	var opts []Option
	if bc.Clock != nil {
		opts = append(opts, WithClock(bc.Clock))
	}
	s, err := New(o, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// policy is the engine policy the options describe; o must be validated.
func (o Options) policy() engine.Policy {
	p := engine.DefaultPolicy
	p.MaxInFlight = o.MaxInFlight
	if p.MaxInFlight == 0 {
		p.MaxInFlight = engine.DefaultPolicy.MaxInFlight
	}
	r := o.Retry
	if r.MaxAttempts != 0 {
		p.Retry.MaxAttempts = r.MaxAttempts
	}
	if r.InitialInterval != 0 {
		p.Retry.Initial = r.InitialInterval.D()
	}
	if r.Multiplier != 0 {
		p.Retry.Multiplier = r.Multiplier
	}
	if r.MaxInterval != 0 {
		p.Retry.Max = r.MaxInterval.D()
	}
	p.Retry.NoJitter = r.Jitter != nil && !*r.Jitter
	return p
}

var _ engine.SinkConfig = (*Options)(nil)
