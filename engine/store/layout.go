package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The bbolt file holds one root bucket, "pipelines", with a bucket per
// pipeline name. A pipeline bucket holds
//
//	queue/  8-byte big-endian Seq → encoded Record
//	kv/     key → value
//	dead/   8-byte big-endian Seq → encoded DeadLetter
//	#queued, #dead   8-byte counters kept in step with queue/ and dead/
//
// and its bbolt sequence numbers both queue appends and transform-stage dead
// letters, so the two never collide. The pipelines live under one root so
// that no pipeline name can clash with the format's own top-level buckets:
// "log" holds "applied", the last write-ahead log generation the file holds
// in full (wal.go).
var (
	bucketPipelines = []byte("pipelines")
	bucketQueue     = []byte("queue")
	bucketKV        = []byte("kv")
	bucketDead      = []byte("dead")
	keyQueued       = []byte("#queued")
	keyDead         = []byte("#dead")
)

// seqKey is the bbolt key for seq; big-endian so keys sort in Seq order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

func keySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// pipeBuckets are one pipeline's buckets inside a transaction.
type pipeBuckets struct {
	root, queue, kv, dead *bolt.Bucket
}

// readPipeline returns the pipeline's buckets, or ok=false if the pipeline
// has never stored anything.
func readPipeline(tx *bolt.Tx, pipeline string) (pipeBuckets, bool) {
	root := tx.Bucket(bucketPipelines)
	if root == nil {
		return pipeBuckets{}, false
	}
	p := root.Bucket([]byte(pipeline))
	if p == nil {
		return pipeBuckets{}, false
	}
	return pipeBuckets{root: p, queue: p.Bucket(bucketQueue), kv: p.Bucket(bucketKV), dead: p.Bucket(bucketDead)}, true
}

// createPipeline returns the pipeline's buckets, creating them if needed.
func createPipeline(tx *bolt.Tx, pipeline string) (pipeBuckets, error) {
	root, err := tx.CreateBucketIfNotExists(bucketPipelines)
	if err != nil {
		return pipeBuckets{}, fmt.Errorf("store: create root bucket: %w", err)
	}
	p, err := root.CreateBucketIfNotExists([]byte(pipeline))
	if err != nil {
		return pipeBuckets{}, fmt.Errorf("store: create bucket for pipeline %q: %w", pipeline, err)
	}
	b := pipeBuckets{root: p}
	for _, sub := range []struct {
		name []byte
		dst  **bolt.Bucket
	}{{bucketQueue, &b.queue}, {bucketKV, &b.kv}, {bucketDead, &b.dead}} {
		if *sub.dst, err = p.CreateBucketIfNotExists(sub.name); err != nil {
			return pipeBuckets{}, fmt.Errorf("store: create %s bucket for pipeline %q: %w", sub.name, pipeline, err)
		}
	}
	return b, nil
}

// appendFill is how full the queue and dead-letter buckets' pages are
// packed when bbolt splits them. Their keys only grow (Seq), so a split
// page is never written to again: bbolt's default of half full made the
// queue use, and each commit write, twice the pages it needs.
const appendFill = 0.95

// packAppends sets appendFill on the append-only buckets; bbolt keeps
// FillPercent per bucket handle, so every write transaction sets it.
func (b pipeBuckets) packAppends() {
	if b.queue != nil {
		b.queue.FillPercent = appendFill
	}
	if b.dead != nil {
		b.dead.FillPercent = appendFill
	}
}

// counter reads one of the pipeline's counters.
func (b pipeBuckets) counter(key []byte) int64 {
	v := b.root.Get(key)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// bucket is the pipeline's bucket for sp.
func (b pipeBuckets) bucket(sp space) *bolt.Bucket {
	switch sp {
	case spaceQueue:
		return b.queue
	case spaceKV:
		return b.kv
	}
	return b.dead
}

// setCounter sets one of the pipeline's counters.
func (b pipeBuckets) setCounter(key []byte, n int64) error {
	if n < 0 {
		return fmt.Errorf("store: counter %s went negative (%d)", key, n)
	}
	if err := b.root.Put(key, binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
		return fmt.Errorf("store: write counter %s: %w", key, err)
	}
	return nil
}
