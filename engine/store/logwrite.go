package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A write is one key's new state, as the log carries it and a checkpoint
// applies it to bbolt. Writes are absolute (a value, a deletion, the
// counters' values), never deltas, so applying one twice changes nothing:
// the in-memory overlay can stay in front of a bbolt file that already holds
// part of it, and replay needs no bookkeeping finer than a generation.
type write struct {
	kind  writeKind
	space space
	pipe  string
	key   string // queue and dead letters: seqKey
	val   []byte // writePut
	meta  pipeMeta
	// fresh says that nothing below this write holds the key (a new Seq, a
	// PutIfAbsent that found none): the overlay may forget its deletion.
	// It is not logged.
	fresh bool
}

type writeKind uint8

const (
	writePut       writeKind = iota + 1 // set key in space to val
	writeDelete                         // delete key from space
	writeMeta                           // set the pipeline's sequence and counters
	writeClearDead                      // drop every dead letter (purge all)
)

// space is one of a pipeline's key spaces.
type space uint8

const (
	spaceQueue space = iota
	spaceKV
	spaceDead
	numSpaces
)

// pipeMeta is a pipeline's bbolt sequence and counters.
type pipeMeta struct {
	seq          uint64
	queued, dead int64
}

var (
	bucketLog  = []byte("log")
	keyApplied = []byte("applied")
)

// encodeWrites appends a frame payload holding ws.
func encodeWrites(buf []byte, ws []write) []byte {
	buf = append(buf, logVersion)
	buf = binary.AppendUvarint(buf, uint64(len(ws)))
	for i := range ws {
		w := &ws[i]
		buf = append(buf, byte(w.kind), byte(w.space))
		buf = appendString(buf, w.pipe)
		switch w.kind {
		case writePut:
			buf = appendString(buf, w.key)
			buf = binary.AppendUvarint(buf, uint64(len(w.val)))
			buf = append(buf, w.val...)
		case writeDelete:
			buf = appendString(buf, w.key)
		case writeMeta:
			buf = binary.AppendUvarint(buf, w.meta.seq)
			buf = binary.AppendVarint(buf, w.meta.queued)
			buf = binary.AppendVarint(buf, w.meta.dead)
		}
	}
	return buf
}

// decodeWrites reads a frame payload. Its checksum passed, so a payload
// that does not decode was written by a different format: an error.
func decodeWrites(payload []byte) ([]write, error) {
	if len(payload) == 0 || payload[0] != logVersion {
		return nil, fmt.Errorf("%w: log frame version", errCorrupt)
	}
	d := decoder{b: payload[1:]}
	n := d.uvarint()
	if n > uint64(len(payload)) {
		return nil, fmt.Errorf("%w: log frame of %d writes in %d bytes", errCorrupt, n, len(payload))
	}
	ws := make([]write, 0, n)
	for range n {
		if len(d.b) < 2 {
			d.fail("log write")
			break
		}
		w := write{kind: writeKind(d.b[0]), space: space(d.b[1])}
		d.b = d.b[2:]
		if w.space >= numSpaces {
			d.fail("log write space")
		}
		w.pipe = d.string()
		switch w.kind {
		case writePut:
			w.key = d.string()
			w.val = append([]byte{}, d.bytes()...)
		case writeDelete:
			w.key = d.string()
		case writeMeta:
			w.meta.seq = d.uvarint()
			w.meta.queued = d.varint()
			w.meta.dead = d.varint()
		case writeClearDead:
		default:
			d.fail("log write kind")
		}
		if d.err != nil {
			break
		}
		ws = append(ws, w)
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return ws, nil
}

// boltApplier applies writes inside one bbolt write transaction.
type boltApplier struct {
	tx    *bolt.Tx
	pipes map[string]pipeBuckets
	key   []byte // scratch: bbolt copies the key it puts and keeps none it deletes
}

func newBoltApplier(tx *bolt.Tx) *boltApplier {
	return &boltApplier{tx: tx, pipes: map[string]pipeBuckets{}}
}

func (a *boltApplier) apply(w *write) error {
	p, ok := a.pipes[w.pipe]
	if !ok {
		var err error
		if p, err = createPipeline(a.tx, w.pipe); err != nil {
			return err
		}
		p.packAppends()
		a.pipes[w.pipe] = p
	}
	switch w.kind {
	case writePut:
		val := w.val
		if val == nil {
			val = []byte{}
		}
		a.key = append(a.key[:0], w.key...)
		if err := p.bucket(w.space).Put(a.key, val); err != nil {
			return fmt.Errorf("store: checkpoint put in pipeline %q: %w", w.pipe, err)
		}
	case writeDelete:
		a.key = append(a.key[:0], w.key...)
		if err := p.bucket(w.space).Delete(a.key); err != nil {
			return fmt.Errorf("store: checkpoint delete in pipeline %q: %w", w.pipe, err)
		}
	case writeMeta:
		if err := p.root.SetSequence(w.meta.seq); err != nil {
			return fmt.Errorf("store: checkpoint sequence of pipeline %q: %w", w.pipe, err)
		}
		if err := p.setCounter(keyQueued, w.meta.queued); err != nil {
			return err
		}
		if err := p.setCounter(keyDead, w.meta.dead); err != nil {
			return err
		}
	case writeClearDead:
		if err := p.root.DeleteBucket(bucketDead); err != nil {
			return fmt.Errorf("store: checkpoint purge of pipeline %q: %w", w.pipe, err)
		}
		dead, err := p.root.CreateBucket(bucketDead)
		if err != nil {
			return fmt.Errorf("store: checkpoint purge of pipeline %q: %w", w.pipe, err)
		}
		dead.FillPercent = appendFill
		p.dead = dead
		a.pipes[w.pipe] = p
	default:
		return fmt.Errorf("%w: log write kind %d", errCorrupt, w.kind)
	}
	return nil
}

// setApplied records that bbolt holds every generation up to gen.
func setApplied(tx *bolt.Tx, gen uint64) error {
	b, err := tx.CreateBucketIfNotExists(bucketLog)
	if err != nil {
		return fmt.Errorf("store: create log bucket: %w", err)
	}
	if err := b.Put(keyApplied, binary.BigEndian.AppendUint64(nil, gen)); err != nil {
		return fmt.Errorf("store: record applied log generation: %w", err)
	}
	return nil
}

// appliedGen is the last generation bbolt holds in full, 0 for none (a
// data dir from before the log).
func appliedGen(tx *bolt.Tx) uint64 {
	b := tx.Bucket(bucketLog)
	if b == nil {
		return 0
	}
	v := b.Get(keyApplied)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
