package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Stored values are a small binary format rather than JSON: it keeps the
// body's bytes as they are (no base64), costs a fraction of JSON's CPU in the
// single commit goroutine, and lets every value carry a checksum, since bbolt
// itself does not checksum values.
//
//	byte 0     format: formatRecord or formatDead
//	bytes 1-4  CRC-32C (Castagnoli) of bytes 5..end
//	bytes 5..  fields in order, each a varint or a length-prefixed string;
//	           a time is a presence byte, then varint seconds and uvarint
//	           nanoseconds. Seq is not stored: it is the key.
const (
	formatRecord = 1
	formatDead   = 2
	headerLen    = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a stored value that does not decode.
var errCorrupt = errors.New("store: corrupt value")

func encodeRecord(r *Record) []byte {
	buf := make([]byte, headerLen, headerLen+len(r.Body)+len(r.ID)+len(r.Key)+len(r.LastError)+48)
	buf[0] = formatRecord
	buf = appendRecordFields(buf, r)
	return sealValue(buf)
}

func encodeDead(d *DeadLetter) []byte {
	buf := make([]byte, headerLen, headerLen+len(d.Body)+len(d.ID)+len(d.Key)+len(d.LastError)+len(d.Error)+len(d.Response)+80)
	buf[0] = formatDead
	buf = appendRecordFields(buf, &d.Record)
	buf = appendString(buf, d.Stage)
	buf = binary.AppendVarint(buf, int64(d.Status))
	buf = appendString(buf, d.Error)
	buf = appendString(buf, d.Response)
	buf = appendTime(buf, d.Died)
	return sealValue(buf)
}

func appendRecordFields(buf []byte, r *Record) []byte {
	buf = appendString(buf, r.ID)
	buf = appendString(buf, r.Key)
	buf = appendTime(buf, r.Stored)
	buf = binary.AppendVarint(buf, int64(r.Attempts))
	buf = appendTime(buf, r.NextAttempt)
	buf = appendString(buf, r.LastError)
	buf = binary.AppendUvarint(buf, uint64(len(r.Body)))
	return append(buf, r.Body...)
}

func sealValue(buf []byte) []byte {
	binary.BigEndian.PutUint32(buf[1:headerLen], crc32.Checksum(buf[headerLen:], castagnoli))
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendTime(buf []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	buf = binary.AppendVarint(buf, t.Unix())
	return binary.AppendUvarint(buf, uint64(t.Nanosecond()))
}

// decodeRecord decodes a queue value; the result does not alias v.
func decodeRecord(seq uint64, v []byte) (Record, error) {
	d := decoder{}
	if err := d.open(v, formatRecord); err != nil {
		return Record{}, fmt.Errorf("record %d: %w", seq, err)
	}
	r := Record{Seq: seq}
	d.recordFields(&r)
	if err := d.finish(); err != nil {
		return Record{}, fmt.Errorf("record %d: %w", seq, err)
	}
	return r, nil
}

// decodeDead decodes a dead-letter value; the result does not alias v.
func decodeDead(seq uint64, v []byte) (DeadLetter, error) {
	d := decoder{}
	if err := d.open(v, formatDead); err != nil {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	dl := DeadLetter{Record: Record{Seq: seq}}
	d.recordFields(&dl.Record)
	dl.Stage = d.string()
	dl.Status = int(d.varint())
	dl.Error = d.string()
	dl.Response = d.string()
	dl.Died = d.time()
	if err := d.finish(); err != nil {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	return dl, nil
}

// decodeStored reads only a record's Stored time (after checking the whole
// value), without copying its body.
func decodeStored(seq uint64, v []byte) (time.Time, error) {
	d := decoder{}
	if err := d.open(v, formatRecord); err != nil {
		return time.Time{}, fmt.Errorf("record %d: %w", seq, err)
	}
	d.bytes() // ID
	d.bytes() // Key
	t := d.time()
	if d.err != nil {
		return time.Time{}, fmt.Errorf("record %d: %w", seq, d.err)
	}
	return t, nil
}

// decoder reads fields in order and remembers the first error, so callers
// check once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) open(v []byte, format byte) error {
	if len(v) < headerLen {
		return fmt.Errorf("%w: %d bytes", errCorrupt, len(v))
	}
	if v[0] != format {
		return fmt.Errorf("%w: format %d, want %d", errCorrupt, v[0], format)
	}
	if got, want := crc32.Checksum(v[headerLen:], castagnoli), binary.BigEndian.Uint32(v[1:headerLen]); got != want {
		return fmt.Errorf("%w: checksum %08x, want %08x", errCorrupt, got, want)
	}
	d.b = v[headerLen:]
	return nil
}

func (d *decoder) recordFields(r *Record) {
	r.ID = d.string()
	r.Key = d.string()
	r.Stored = d.time()
	r.Attempts = int(d.varint())
	r.NextAttempt = d.time()
	r.LastError = d.string()
	if body := d.bytes(); len(body) > 0 {
		r.Body = append([]byte(nil), body...)
	}
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return d.err
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s", errCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail("string")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) time() time.Time {
	if len(d.b) == 0 {
		d.fail("time")
		return time.Time{}
	}
	present := d.b[0]
	d.b = d.b[1:]
	switch present {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.fail("time nanoseconds")
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.fail("time flag")
		return time.Time{}
	}
}
