package runner

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine"
)

// Counters are a pipeline's running totals since the daemon started. They
// outlive pipeline generations (a reload keeps counting) and feed the status
// API and the metrics.
type Counters struct {
	In           atomic.Uint64 // events handed to Emit by the source
	Filtered     atomic.Uint64 // events a transform dropped
	Stored       atomic.Uint64 // events committed to the queue
	Delivered    atomic.Uint64 // events the sink accepted
	Retried      atomic.Uint64 // failed attempts that will be retried
	DeadLettered atomic.Uint64 // events dead-lettered (transform or delivery)

	mu        sync.Mutex
	lastError string
	lastErrAt time.Time
	sourceErr string
}

// Observer receives delivery outcomes, e.g. to feed Prometheus histograms.
// Calls must be fast and must not block.
type Observer interface {
	// Delivered reports an accepted event and how long it waited since it
	// was stored.
	Delivered(pipeline string, latency time.Duration)
	// Failed reports a failed attempt by class ("retry", "permanent",
	// "gone"); status is the HTTP status or 0.
	Failed(pipeline string, class engine.Class, status int)
}

// AttemptObserver is an optional extension of Observer: an Observer that
// also implements it is told of every delivery attempt with its event,
// after the outcome is stored (the console's recent deliveries).
type AttemptObserver interface {
	Attempted(pipeline string, a Attempt)
}

// Attempt is one delivery attempt of an event.
type Attempt struct {
	At      time.Time
	ID      string // the event id
	Attempt int    // 1 for the first attempt
	// Outcome is "delivered", "retry" or "dead" (dead-lettered).
	Outcome string
	Status  int    // the receiver's HTTP status; 0 when unknown or none
	Error   string // "" when delivered
}

func (c *Counters) setError(msg string, at time.Time) {
	c.mu.Lock()
	c.lastError, c.lastErrAt = msg, at
	c.mu.Unlock()
}

func (c *Counters) setSourceError(msg string) {
	c.mu.Lock()
	c.sourceErr = msg
	c.mu.Unlock()
}

// LastError is the last delivery or transform error and when it happened.
func (c *Counters) LastError() (string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastError, c.lastErrAt
}

// SourceError is the source's current error, "" when healthy.
func (c *Counters) SourceError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sourceErr
}
