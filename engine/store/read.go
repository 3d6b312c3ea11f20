package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// view runs fn with the overlay read-locked and a read-only bbolt
// transaction: the overlay cannot change under it, and a checkpoint
// finishing meanwhile only puts into bbolt what the overlay already shows.
func (s *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return ErrClosed
	}
	s.ovMu.RLock()
	defer s.ovMu.RUnlock()
	err := s.db.DB.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// boltBucket returns one of the pipeline's bbolt buckets, nil if none.
func boltBucket(tx *bolt.Tx, pipeline string, sp space) *bolt.Bucket {
	p, ok := readPipeline(tx, pipeline)
	if !ok {
		return nil
	}
	return p.bucket(sp)
}

// lookupKey returns a key's value from the overlay, else bbolt; nil if
// absent. Called inside view.
func (s *Bolt) lookupKey(tx *bolt.Tx, pipeline string, sp space, key string) []byte {
	if v, ok := s.ov.lookup(pipeline, sp, key); ok {
		return v
	}
	b := boltBucket(tx, pipeline, sp)
	if b == nil {
		return nil
	}
	k, v := b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil
	}
	if v == nil {
		v = []byte{}
	}
	return v
}

// seqBucket is a Seq-keyed bbolt bucket for a merge, nil if the overlay
// hides it (dead letters purged) or it does not exist.
func (s *Bolt) seqBucket(tx *bolt.Tx, pipeline string, sp space) *bolt.Bucket {
	if sp == spaceDead && s.ov.deadCleared(pipeline) {
		return nil
	}
	return boltBucket(tx, pipeline, sp)
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
		ov, b := s.ov.space(pipeline, spaceQueue), s.seqBucket(tx, pipeline, spaceQueue)
		return mergeAfter(ov, b, after, limit, func(k, v []byte) error {
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
		v := s.lookupKey(tx, pipeline, spaceQueue, string(seqKey(seq)))
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
		v := s.lookupKey(tx, pipeline, spaceKV, key)
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
// file, and the two would wait for each other. The overlay's part is copied
// out first, so fn runs without the overlay's lock.
func (s *Bolt) Scan(ctx context.Context, pipeline, prefix string, fn func(key string, value []byte) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: scan %q of pipeline %q: %w", prefix, pipeline, err)
	}
	if s.isClosed() {
		return ErrClosed
	}
	s.ovMu.RLock()
	ov := s.ov.space(pipeline, spaceKV).prefixed(prefix)
	// Begun under the lock: a checkpoint that finishes later only adds
	// what ov already holds.
	tx, err := s.db.DB.Begin(false)
	s.ovMu.RUnlock()
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("store: scan %q of pipeline %q: %w", prefix, pipeline, err)
	}
	defer tx.Rollback()
	var bk, bv []byte
	var c *bolt.Cursor
	pre := []byte(prefix)
	if p, ok := readPipeline(tx, pipeline); ok {
		c = p.kv.Cursor()
		bk, bv = c.Seek(pre)
	}
	i, n := 0, 0
	for {
		if bk != nil && !bytes.HasPrefix(bk, pre) {
			bk = nil
		}
		if i == len(ov) && bk == nil {
			return nil
		}
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: scan %q of pipeline %q: %w", prefix, pipeline, err)
			}
		}
		var key string
		var val []byte
		if i < len(ov) && (bk == nil || ov[i].key <= string(bk)) {
			if bk != nil && ov[i].key == string(bk) {
				bk, bv = c.Next()
			}
			e := ov[i]
			i++
			if e.val == nil {
				continue
			}
			key, val = e.key, append([]byte{}, e.val...)
		} else {
			key, val = string(bk), append([]byte{}, bv...)
			bk, bv = c.Next()
		}
		if !fn(key, val) {
			return nil
		}
	}
}

// DeadLetters returns up to limit dead letters with Seq > after, in order.
func (s *Bolt) DeadLetters(ctx context.Context, pipeline string, after uint64, limit int) ([]DeadLetter, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []DeadLetter
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ov, b := s.ov.space(pipeline, spaceDead), s.seqBucket(tx, pipeline, spaceDead)
		return mergeAfter(ov, b, after, limit, func(k, v []byte) error {
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
		v := s.lookupKey(tx, pipeline, spaceDead, string(seqKey(seq)))
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
		if p := s.ov.pipes[pipeline]; p != nil {
			st.Queued, st.DeadLetters = int(p.meta.queued), int(p.meta.dead)
		} else if p, ok := readPipeline(tx, pipeline); ok {
			st.Queued = int(p.counter(keyQueued))
			st.DeadLetters = int(p.counter(keyDead))
		} else {
			return nil
		}
		ov, b := s.ov.space(pipeline, spaceQueue), s.seqBucket(tx, pipeline, spaceQueue)
		return mergeAfter(ov, b, 0, 1, func(k, v []byte) error {
			var err error
			st.OldestQueue, err = decodeStored(keySeq(k), v)
			return err
		})
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
		for name := range s.ov.pipes {
			names = append(names, name)
		}
		root := tx.Bucket(bucketPipelines)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(k []byte) error {
			if _, in := s.ov.pipes[string(k)]; !in {
				names = append(names, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list pipelines: %w", err)
	}
	slices.Sort(names)
	return names, nil
}
