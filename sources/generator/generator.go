// Package generator is a source that produces numbered synthetic events on
// a timer. It exercises a pipeline end to end without any external system,
// and shows the source contract: its counter is stored atomically with the
// events it emits, so after a restart numbering (and so eventIds) continue
// without gaps or repeats.
package generator

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

func init() {
	engine.Register("generator", func() engine.SourceConfig {
		return &Options{Interval: config.Duration(time.Second), Batch: 1, Keys: 10}
	})
}

// Options configure the generator.
type Options struct {
	// Interval between batches (default 1s).
	Interval config.Duration `yaml:"interval"`
	// Count stops after this many events in total; 0 runs forever.
	Count uint64 `yaml:"count"`
	// Batch is the number of events per emit (default 1).
	Batch int `yaml:"batch"`
	// Keys is how many distinct object ids events cycle through (default 10).
	Keys int `yaml:"keys"`
	// Payload is merged into every event's value.
	Payload map[string]any `yaml:"payload"`
}

// NewSource validates the options.
func (o *Options) NewSource(bc engine.BuildContext) (engine.Source, error) {
	switch {
	case o.Interval <= 0:
		return nil, config.FieldErrorf("interval", "must be positive")
	case o.Batch < 1 || o.Batch > 10000:
		return nil, config.FieldErrorf("batch", "must be between 1 and 10000")
	case o.Keys < 1:
		return nil, config.FieldErrorf("keys", "must be at least 1")
	}
	return &Source{opts: *o, pipeline: bc.Pipeline, clock: bc.WithDefaults().Clock}, nil
}

// Source is a running generator.
type Source struct {
	opts     Options
	pipeline string
	clock    engine.Clock
}

var _ engine.Source = (*Source)(nil)

const counterKey = "generator.next"

// Run emits a batch every interval until ctx ends or Count is reached.
func (s *Source) Run(ctx context.Context, host engine.Host) error {
	next, err := s.loadCounter(ctx, host)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(s.opts.Interval.D())
	defer ticker.Stop()
	for {
		if s.opts.Count > 0 && next >= s.opts.Count {
			<-ctx.Done() // done, but keep the pipeline up for delivery
			return nil
		}
		n := uint64(s.opts.Batch)
		if s.opts.Count > 0 {
			n = min(n, s.opts.Count-next)
		}
		events := make([]engine.Event, 0, n)
		for i := uint64(0); i < n; i++ {
			events = append(events, s.event(next+i, s.clock.Now()))
		}
		counter := binary.BigEndian.AppendUint64(nil, next+n)
		if err := host.Emit(ctx, events, engine.StateUpdate{Key: counterKey, Value: counter}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			host.ReportError(err)
		} else {
			next += n
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (s *Source) loadCounter(ctx context.Context, host engine.Host) (uint64, error) {
	v, ok, err := host.State(ctx, counterKey)
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("generator: corrupt counter state (%d bytes)", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (s *Source) event(n uint64, now time.Time) engine.Event {
	key := fmt.Sprintf("%d", n%uint64(s.opts.Keys))
	v := map[string]any{}
	for k, x := range s.opts.Payload {
		v[k] = x
	}
	v["seq"] = n
	v["id"] = key
	v["generated_at"] = now.UTC().Format(time.RFC3339Nano)
	return engine.Event{
		Value: v,
		ID:    fmt.Sprintf("%s-%d", s.pipeline, n),
		Key:   key,
		Meta:  engine.Meta{engine.MetaObjectID: key},
	}
}
