package engine

import (
	"errors"
	"fmt"
	"time"
)

// ErrDuplicate is returned by Host.Emit when an IfAbsent state key was
// already set: the events were seen before and nothing was stored.
var ErrDuplicate = errors.New("duplicate: already stored")

// ErrQueueFull is returned by Host.Emit when the pipeline's queue is at its
// configured limit (max_queue_events, max_queue_bytes): nothing was stored,
// and the source must not acknowledge or move its cursor. A webhook answers
// 503 with Retry-After; a poller tries again on its next cycle.
var ErrQueueFull = errors.New("queue full")

// Class says what the engine does after a failed delivery.
type Class int

const (
	// Retry: try again later on the retry schedule (5xx, 408, 429, network).
	Retry Class = iota
	// Permanent: dead-letter at once (other 4xx).
	Permanent
	// Gone: dead-letter and pause the pipeline's delivery (410 Gone).
	Gone
)

func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Gone:
		return "gone"
	default:
		return "retry"
	}
}

// DeliveryError is a classified delivery failure.
type DeliveryError struct {
	Class Class
	// Status is the HTTP status, 0 for a network error.
	Status int
	// RetryAfter is the receiver's requested delay (0: use the schedule).
	RetryAfter time.Duration
	// Response is a short snippet of the response body.
	Response string
	Err      error
}

func (e *DeliveryError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d: %v", e.Status, e.Err)
	}
	return e.Err.Error()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// ClassOf classifies err; unclassified errors are retried.
func ClassOf(err error) *DeliveryError {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de
	}
	return &DeliveryError{Class: Retry, Err: err}
}
