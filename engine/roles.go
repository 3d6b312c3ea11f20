package engine

import (
	"context"
	"net/http"
	"time"
)

// Source produces events. The engine calls Run once per pipeline generation
// in its own goroutine.
//
// Run blocks until ctx is cancelled (then returns nil) or the source fails
// for good (then returns the error; the pipeline is marked failed). Run hands
// events to host.Emit, which blocks until they are durably stored; that
// return is the source's acknowledgement and its back-pressure. A source must
// not advance any external cursor before Emit returned nil.
type Source interface {
	Run(ctx context.Context, host Host) error
}

// HTTPSource is a Source that also receives HTTP requests on the shared
// --listen server. The engine mounts Handler at Path while the pipeline runs
// and switches routes atomically on reload; two pipelines may not share a
// path.
type HTTPSource interface {
	Source
	Path() string
	// Handler returns the request handler bound to host. It is called once
	// per generation, before Run.
	Handler(host Host) http.Handler
}

// Host is what the engine offers a running source. It is safe for
// concurrent use.
type Host interface {
	// Emit runs events through the pipeline's transforms and durably stores
	// the results, together with the state updates, in one atomic commit.
	// It returns nil only once everything is committed. With no events it
	// commits the state updates alone. The events' Meta
	// maps pass to Emit, which adds the engine's keys to them: give each
	// event a map of its own. It returns
	// ErrDuplicate if a StateUpdate with IfAbsent found its key set (then
	// nothing was stored), or another error if the store failed.
	Emit(ctx context.Context, events []Event, state ...StateUpdate) error
	// State reads a key of the pipeline's key-value space; ok is false if it
	// is not set.
	State(ctx context.Context, key string) (value []byte, ok bool, err error)
	// ScanState calls fn for each key with prefix, in order, until it
	// returns false.
	ScanState(ctx context.Context, prefix string, fn func(key string, value []byte) bool) error
	// ReportError records a source error (a failed poll, a 401 from the
	// API) for status and metrics; nil clears it.
	ReportError(err error)
}

// StateUpdate is a write to the pipeline's key-value space made atomically
// with an Emit.
type StateUpdate struct {
	Key      string
	Value    []byte
	Delete   bool // delete Key instead of setting it
	IfAbsent bool // fail the Emit with ErrDuplicate if Key is set
}

// Transform turns one event into zero, one or several. It must be safe for
// concurrent use: emits from many webhook requests run it in parallel.
//
// Apply returns the outputs (none drops the event), or an error, which
// dead-letters the event with the error's message. It must respect ctx.
type Transform interface {
	Apply(ctx context.Context, ev Event) ([]Event, error)
}

// Predicate is a Transform that passes each event on unchanged or drops it
// (a filter). The engine asks Keep instead of Apply, so a kept event goes
// on as it is, without a new slice for it; Apply must agree with Keep.
type Predicate interface {
	Transform
	Keep(ctx context.Context, ev Event) (bool, error)
}

// Sink delivers stored events. Deliver must be safe for concurrent use; the
// engine calls it from up to Policy().MaxInFlight goroutines, never twice at
// once for the same ordering key.
//
// Deliver returns nil once the receiver accepted the event. Any error is
// classified with ClassOf: a *DeliveryError says whether to retry, give up or
// pause; other errors are retried.
type Sink interface {
	Deliver(ctx context.Context, d Delivery) error
}

// Delivery is one attempt to deliver a stored event.
type Delivery struct {
	ID      string    // eventId
	Key     string    // ordering key
	Body    []byte    // exact bytes to send
	Stored  time.Time // when the event was committed
	Attempt int       // 1 for the first attempt
}

// PolicySink is a Sink that sets its delivery concurrency and retry policy.
// Sinks without it get DefaultPolicy.
type PolicySink interface {
	Sink
	Policy() Policy
}

// TimeoutSink is a Sink whose Deliver never runs longer than Timeout. The
// engine starts an attempt on a shared delivery partition only while the
// partition's lease will outlast it.
type TimeoutSink interface {
	Sink
	Timeout() time.Duration
}

// Policy is how the engine schedules deliveries for one sink.
type Policy struct {
	// MaxInFlight is the number of concurrent Deliver calls.
	MaxInFlight int
	// Retry is the backoff schedule for retryable failures.
	Retry RetryPolicy
}

// RetryPolicy is an exponential backoff with full jitter. Attempt n (1-based)
// that fails waits a random time in [0, min(Max, Initial*Multiplier^(n-1))]
// (or exactly that, without jitter), unless the receiver said Retry-After.
// After MaxAttempts failed attempts the event is dead-lettered.
type RetryPolicy struct {
	MaxAttempts int
	Initial     time.Duration
	Multiplier  float64
	Max         time.Duration
	// NoJitter waits the full computed delay (tests, and users who want
	// SAP Open Connectors' exact 4^n schedule).
	NoJitter bool
}

// DefaultPolicy follows SAP Open Connectors: the first attempt and up to 9
// retries, delays growing 4^n seconds, capped at 6 hours.
var DefaultPolicy = Policy{
	MaxInFlight: 16,
	Retry: RetryPolicy{
		MaxAttempts: 10,
		Initial:     4 * time.Second,
		Multiplier:  4,
		Max:         6 * time.Hour,
	},
}

// Poller is a Source that works in cycles. PollOnce runs one complete cycle
// synchronously and returns once its events are stored; golden-file tests
// use it to drive a poller deterministically.
type Poller interface {
	Source
	PollOnce(ctx context.Context, host Host) error
}

// EndpointSink is a Sink that names the endpoint it delivers to (the http
// sink's URL without credentials). The engine keeps one circuit breaker
// per endpoint, shared by every pipeline delivering there; sinks without
// it get a breaker of their pipeline's own.
type EndpointSink interface {
	Sink
	Endpoint() string
}
