package natsstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// view runs fn with the state read-locked.
func (s *Store) view(ctx context.Context, fn func(*state) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return fn(s.st)
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("store: limit must be positive, got %d", limit)
	}
	return nil
}

// Pending returns up to limit queued records of pipeline with Seq > after,
// in Seq order.
func (s *Store) Pending(ctx context.Context, pipeline string, after uint64, limit int) ([]store.Record, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []store.Record
	err := s.view(ctx, func(st *state) error {
		p := st.pipes[pipeline]
		if p == nil || after == math.MaxUint64 {
			return nil
		}
		p.queue.AscendGreaterOrEqual(&store.Record{Seq: after + 1}, func(r *store.Record) bool {
			out = append(out, *r)
			return len(out) < limit
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending of pipeline %q: %w", pipeline, err)
	}
	return out, nil
}

// Get returns one queued record, or ErrNotFound.
func (s *Store) Get(ctx context.Context, pipeline string, seq uint64) (store.Record, error) {
	var r store.Record
	err := s.view(ctx, func(st *state) error {
		if p := st.pipes[pipeline]; p != nil {
			if got, ok := p.record(seq); ok {
				r = *got
				return nil
			}
		}
		return store.ErrNotFound
	})
	if err != nil {
		return store.Record{}, fmt.Errorf("store: record %d of pipeline %q: %w", seq, pipeline, err)
	}
	return r, nil
}

// Value returns the value of key, or ErrNotFound.
func (s *Store) Value(ctx context.Context, pipeline, key string) ([]byte, error) {
	var out []byte
	subject := s.layout.kvSubject(pipeline, key)
	var at uint64
	err := s.view(ctx, func(st *state) error {
		if p := st.pipes[pipeline]; p != nil {
			if v, ok := p.value(key); ok {
				out = slices.Clone(v)
				if out == nil {
					out = []byte{}
				}
				at = st.subjects[subject].seq
				return nil
			}
		}
		at = st.expectFor(subject, time.Now())
		return store.ErrNotFound
	})
	if errors.Is(err, store.ErrNotFound) {
		s.seen.read(subject, at) // read as absent: a write expects that
	}
	if err != nil {
		return nil, fmt.Errorf("store: key %q of pipeline %q: %w", key, pipeline, err)
	}
	s.seen.read(subject, at)
	return out, nil
}

// Scan calls fn for each key with the prefix, in key order, until fn returns
// false. fn gets its own copy of value; it runs with the state read-locked
// and must not call Commit (the commit would wait for the scan to end).
func (s *Store) Scan(ctx context.Context, pipeline, prefix string, fn func(key string, value []byte) bool) error {
	err := s.view(ctx, func(st *state) error {
		p := st.pipes[pipeline]
		if p == nil {
			return nil
		}
		n := 0
		var cerr error
		p.kv.AscendGreaterOrEqual(kvEntry{key: prefix}, func(e kvEntry) bool {
			if !strings.HasPrefix(e.key, prefix) {
				return false
			}
			if n++; n%256 == 0 {
				if cerr = ctx.Err(); cerr != nil {
					return false
				}
			}
			return fn(e.key, slices.Clone(e.value))
		})
		return cerr
	})
	if err != nil {
		return fmt.Errorf("store: scan %q of pipeline %q: %w", prefix, pipeline, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters with Seq > after, in order.
func (s *Store) DeadLetters(ctx context.Context, pipeline string, after uint64, limit int) ([]store.DeadLetter, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []store.DeadLetter
	err := s.view(ctx, func(st *state) error {
		p := st.pipes[pipeline]
		if p == nil || after == math.MaxUint64 {
			return nil
		}
		p.dead.AscendGreaterOrEqual(&store.DeadLetter{Record: store.Record{Seq: after + 1}}, func(d *store.DeadLetter) bool {
			out = append(out, *d)
			return len(out) < limit
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: dead letters of pipeline %q: %w", pipeline, err)
	}
	return out, nil
}

// DeadLetter returns one dead letter, or ErrNotFound.
func (s *Store) DeadLetter(ctx context.Context, pipeline string, seq uint64) (store.DeadLetter, error) {
	var d store.DeadLetter
	err := s.view(ctx, func(st *state) error {
		if p := st.pipes[pipeline]; p != nil {
			if got, ok := p.deadLetter(seq); ok {
				d = *got
				return nil
			}
		}
		return store.ErrNotFound
	})
	if err != nil {
		return store.DeadLetter{}, fmt.Errorf("store: dead letter %d of pipeline %q: %w", seq, pipeline, err)
	}
	return d, nil
}

// Stats reports queue depth, oldest queued time and dead-letter count.
func (s *Store) Stats(ctx context.Context, pipeline string) (store.Stats, error) {
	var st store.Stats
	err := s.view(ctx, func(state *state) error {
		p := state.pipes[pipeline]
		if p == nil {
			return nil
		}
		st.Queued, st.DeadLetters = p.queue.Len(), p.dead.Len()
		if r, ok := p.queue.Min(); ok {
			st.OldestQueue = r.Stored
		}
		return nil
	})
	if err != nil {
		return store.Stats{}, fmt.Errorf("store: stats of pipeline %q: %w", pipeline, err)
	}
	return st, nil
}

// Pipelines lists the pipelines that have stored anything, in name order.
func (s *Store) Pipelines(ctx context.Context) ([]string, error) {
	var names []string
	err := s.view(ctx, func(st *state) error {
		for name := range st.pipes {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list pipelines: %w", err)
	}
	slices.Sort(names)
	return names, nil
}
