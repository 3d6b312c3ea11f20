package natsstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// Every payload starts with its kind and the pipeline name, so that the
// stream can be read back without decoding subjects. Integers are uvarints,
// strings and bytes are length-prefixed, times are Unix nanoseconds (0 for
// the zero time).
const (
	kindSeq    byte = 'n' // pipeline's last Seq
	kindRecord byte = 'q' // queued record
	kindDead   byte = 'd' // dead letter
	kindKV     byte = 'k' // key + value
	kindGone   byte = 'x' // tombstone: entity deleted (+ what it was)
)

// formatVersion is the second byte of every payload.
const formatVersion byte = 1

var errDecode = errors.New("natsstore: undecodable message")

type encoder []byte

func (e encoder) uint(v uint64) encoder    { return binary.AppendUvarint(e, v) }
func (e encoder) bytes(b []byte) encoder   { return append(e.uint(uint64(len(b))), b...) }
func (e encoder) str(s string) encoder     { return append(e.uint(uint64(len(s))), s...) }
func (e encoder) time(t time.Time) encoder { return e.uint(unixNano(t)) }

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errDecode
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = errDecode
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) time() time.Time {
	ns := d.uint()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns)).UTC()
}

func header(kind byte, pipeline string) encoder {
	return encoder{kind, formatVersion}.str(pipeline)
}

func encodeSeq(p string, seq uint64) []byte { return header(kindSeq, p).uint(seq) }

func encodeRecord(p string, r *store.Record) []byte {
	e := header(kindRecord, p)
	return e.appendRecord(r)
}

func (e encoder) appendRecord(r *store.Record) encoder {
	return e.uint(r.Seq).str(r.ID).str(r.Key).bytes(r.Body).time(r.Stored).
		uint(uint64(max(r.Attempts, 0))).time(r.NextAttempt).str(r.LastError)
}

func encodeDead(p string, d *store.DeadLetter) []byte {
	e := header(kindDead, p).appendRecord(&d.Record)
	return e.str(d.Stage).uint(uint64(max(d.Status, 0))).str(d.Error).str(d.Response).time(d.Died)
}

func encodeKV(p, key string, value []byte) []byte { return header(kindKV, p).str(key).bytes(value) }

// encodeGone is a tombstone for what (kindRecord, kindDead: seq; kindKV: key).
func encodeGone(p string, what byte, seq uint64, key string) []byte {
	return append(header(kindGone, p), what).uint(seq).str(key)
}

// decoded is one message read back from the stream.
type decoded struct {
	kind     byte
	pipeline string
	seq      uint64 // kindSeq: last Seq; kindGone: the record or dead letter
	gone     byte   // kindGone: kind of the deleted entity
	key      string
	value    []byte
	rec      store.Record
	dead     store.DeadLetter
}

func decode(b []byte) (decoded, error) {
	if len(b) < 2 || b[1] != formatVersion {
		return decoded{}, fmt.Errorf("%w: %d bytes, no known header", errDecode, len(b))
	}
	d := &decoder{b: b[2:]}
	out := decoded{kind: b[0], pipeline: d.str()}
	switch out.kind {
	case kindSeq:
		out.seq = d.uint()
	case kindRecord:
		out.rec = d.record()
	case kindDead:
		out.dead.Record = d.record()
		out.dead.Stage, out.dead.Status, out.dead.Error = d.str(), int(d.uint()), d.str()
		out.dead.Response, out.dead.Died = d.str(), d.time()
	case kindKV:
		out.key, out.value = d.str(), d.bytes()
	case kindGone:
		if len(d.b) == 0 {
			return decoded{}, errDecode
		}
		out.gone, d.b = d.b[0], d.b[1:]
		out.seq, out.key = d.uint(), d.str()
	default:
		return decoded{}, fmt.Errorf("%w: kind %q", errDecode, out.kind)
	}
	if d.err != nil {
		return decoded{}, fmt.Errorf("%w: kind %q truncated", errDecode, out.kind)
	}
	return out, nil
}

func (d *decoder) record() store.Record {
	var r store.Record
	r.Seq, r.ID, r.Key, r.Body, r.Stored = d.uint(), d.str(), d.str(), d.bytes(), d.time()
	r.Attempts, r.NextAttempt, r.LastError = int(d.uint()), d.time(), d.str()
	return r
}
