// Package stdout is a sink for local debugging: it prints each event's body
// as one JSON line, or indented JSON with pretty, to standard output.
package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/connectord/connectord/engine"
)

// Options configure the stdout sink: `sink: {stdout: {pretty: true}}`.
type Options struct {
	// Pretty indents each event over several lines instead of one.
	Pretty bool `yaml:"pretty"`
}

func init() {
	engine.Register("stdout", func() engine.SinkConfig { return &Options{} })
}

// NewSink builds the sink; the options cannot be invalid.
func (o Options) NewSink(engine.BuildContext) (engine.Sink, error) { return New(o), nil }

// Sink writes events to a writer. It is safe for concurrent use: each event
// is written whole, under a mutex, so lines never interleave.
type Sink struct {
	pretty bool
	mu     sync.Mutex
	w      io.Writer
}

// Option changes how New builds a Sink.
type Option func(*Sink)

// WithWriter sends output to w instead of os.Stdout.
func WithWriter(w io.Writer) Option { return func(s *Sink) { s.w = w } }

// New builds the sink.
func New(o Options, opts ...Option) *Sink {
	s := &Sink{pretty: o.Pretty, w: os.Stdout}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Deliver writes d.Body followed by a newline. A body that is not JSON is
// written as it is rather than failed: this sink is for looking at events.
// Only a write error fails, and it is retried.
func (s *Sink) Deliver(_ context.Context, d engine.Delivery) error {
	out := s.format(d.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(out); err != nil {
		return &engine.DeliveryError{Class: engine.Retry, Err: fmt.Errorf("stdout: writing event %s: %w", d.ID, err)}
	}
	return nil
}

func (s *Sink) format(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body) + 1)
	var err error
	if s.pretty {
		err = json.Indent(&buf, body, "", "  ")
	} else {
		err = json.Compact(&buf, body)
	}
	if err != nil {
		buf.Reset()
		buf.Write(bytes.TrimRight(body, "\r\n"))
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

var (
	_ engine.Sink       = (*Sink)(nil)
	_ engine.SinkConfig = (*Options)(nil)
)
