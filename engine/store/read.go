package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// view runs fn in a read-only transaction.
func (s *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return ErrClosed
	}
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// checkLimit keeps every read bounded: there is no "all".
func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("store: limit must be positive, got %d", limit)
	}
	return nil
}

// Pending returns up to limit queued records of pipeline with Seq > after,
// in Seq order. It reads only those records, whatever the backlog.
func (s *Bolt) Pending(ctx context.Context, pipeline string, after uint64, limit int) ([]Record, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []Record
	err := s.view(ctx, func(tx *bolt.Tx) error {
		p, ok := readPipeline(tx, pipeline)
		if !ok {
			return nil
		}
		return scanAfter(p.queue, after, limit, func(k, v []byte) error {
			r, err := decodeRecord(keySeq(k), v)
			out = append(out, r)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending of pipeline %q: %w", pipeline, err)
	}
	return out, nil
}

// Get returns one queued record, or ErrNotFound.
func (s *Bolt) Get(ctx context.Context, pipeline string, seq uint64) (Record, error) {
	var r Record
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := lookup(tx, pipeline, func(p pipeBuckets) []byte { return p.queue.Get(seqKey(seq)) })
		if v == nil {
			return ErrNotFound
		}
		var err error
		r, err = decodeRecord(seq, v)
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("store: record %d of pipeline %q: %w", seq, pipeline, err)
	}
	return r, nil
}

// Value returns the value of key, or ErrNotFound.
func (s *Bolt) Value(ctx context.Context, pipeline, key string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := lookup(tx, pipeline, func(p pipeBuckets) []byte { return p.kv.Get([]byte(key)) })
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte{}, v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: key %q of pipeline %q: %w", key, pipeline, err)
	}
	return out, nil
}

// Scan calls fn for each key with the prefix, in key order, until fn returns
// false. fn gets its own copy of value. fn runs inside a read transaction
// and must not call Commit: bbolt may need every reader gone to grow the
// file, and the two would wait for each other.
func (s *Bolt) Scan(ctx context.Context, pipeline, prefix string, fn func(key string, value []byte) bool) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		p, ok := readPipeline(tx, pipeline)
		if !ok {
			return nil
		}
		c := p.kv.Cursor()
		pre := []byte(prefix)
		n := 0
		for k, v := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, v = c.Next() {
			if n++; n%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if !fn(string(k), append([]byte{}, v...)) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: scan %q of pipeline %q: %w", prefix, pipeline, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters with Seq > after, in order.
func (s *Bolt) DeadLetters(ctx context.Context, pipeline string, after uint64, limit int) ([]DeadLetter, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []DeadLetter
	err := s.view(ctx, func(tx *bolt.Tx) error {
		p, ok := readPipeline(tx, pipeline)
		if !ok {
			return nil
		}
		return scanAfter(p.dead, after, limit, func(k, v []byte) error {
			d, err := decodeDead(keySeq(k), v)
			out = append(out, d)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: dead letters of pipeline %q: %w", pipeline, err)
	}
	return out, nil
}

// DeadLetter returns one dead letter, or ErrNotFound.
func (s *Bolt) DeadLetter(ctx context.Context, pipeline string, seq uint64) (DeadLetter, error) {
	var d DeadLetter
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := lookup(tx, pipeline, func(p pipeBuckets) []byte { return p.dead.Get(seqKey(seq)) })
		if v == nil {
			return ErrNotFound
		}
		var err error
		d, err = decodeDead(seq, v)
		return err
	})
	if err != nil {
		return DeadLetter{}, fmt.Errorf("store: dead letter %d of pipeline %q: %w", seq, pipeline, err)
	}
	return d, nil
}

// Stats reads the pipeline's counters and its first queued record: constant
// work whatever the backlog.
func (s *Bolt) Stats(ctx context.Context, pipeline string) (Stats, error) {
	var st Stats
	err := s.view(ctx, func(tx *bolt.Tx) error {
		p, ok := readPipeline(tx, pipeline)
		if !ok {
			return nil
		}
		st.Queued = int(p.counter(keyQueued))
		st.DeadLetters = int(p.counter(keyDead))
		k, v := p.queue.Cursor().First()
		if k == nil {
			return nil
		}
		var err error
		st.OldestQueue, err = decodeStored(keySeq(k), v)
		return err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats of pipeline %q: %w", pipeline, err)
	}
	return st, nil
}

// Pipelines lists the pipelines that have stored anything, in name order.
func (s *Bolt) Pipelines(ctx context.Context) ([]string, error) {
	var names []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketPipelines)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list pipelines: %w", err)
	}
	return names, nil
}

// scanAfter calls fn for up to limit entries of a Seq-keyed bucket with
// Seq > after.
func scanAfter(b *bolt.Bucket, after uint64, limit int, fn func(k, v []byte) error) error {
	if after == math.MaxUint64 {
		return nil
	}
	c := b.Cursor()
	n := 0
	for k, v := c.Seek(seqKey(after + 1)); k != nil && n < limit; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// lookup returns get's value from the pipeline's buckets, nil if the
// pipeline does not exist.
func lookup(tx *bolt.Tx, pipeline string, get func(pipeBuckets) []byte) []byte {
	p, ok := readPipeline(tx, pipeline)
	if !ok {
		return nil
	}
	return get(p)
}
