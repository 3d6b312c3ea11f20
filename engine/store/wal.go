package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The write-ahead log sits in front of the bbolt file: a commit appends one
// frame holding its whole group's writes and syncs once, and a checkpoint
// later applies the log to bbolt in one large transaction. The log is a
// series of segment files next to the store file, <file>-log.<gen>, each
// generation a run of frames:
//
//	bytes 0-3   payload length, little-endian (never 0)
//	bytes 4-7   CRC-32C (Castagnoli) of the payload
//	bytes 8-11  CRC-32C of bytes 0-7, so that a length can be trusted
//	bytes 12..  payload: logVersion, then the writes (see logwrite.go)
//
// A new segment starts at each checkpoint, so the checkpoint can apply the
// old ones while commits append to the new one; bbolt records the last
// generation it holds in full (bucketLog/keyApplied), in the checkpoint's
// own transaction, so a segment is either wholly applied or replayed.
const (
	frameHeader = 12
	logVersion  = 1
	// maxFrame bounds a frame's length so that a corrupt header cannot ask
	// recovery for gigabytes.
	maxFrame = 1 << 30
)

// segmentPath is generation gen's file.
func segmentPath(store string, gen uint64) string {
	return fmt.Sprintf("%s-log.%016d", store, gen)
}

// segments lists the store's log generations in ascending order.
func segments(store string) ([]uint64, error) {
	matches, err := filepath.Glob(store + "-log.*")
	if err != nil {
		return nil, fmt.Errorf("store: list log segments: %w", err)
	}
	var gens []uint64
	for _, m := range matches {
		gen, err := strconv.ParseUint(strings.TrimPrefix(m, store+"-log."), 10, 64)
		if err != nil || gen == 0 {
			continue // not ours
		}
		gens = append(gens, gen)
	}
	slices.Sort(gens)
	return gens, nil
}

// segment is the log file commits append to; only the commit goroutine
// uses it.
type segment struct {
	f    *os.File
	gen  uint64
	size int64 // bytes written and synced
}

// createSegment creates generation gen's file and makes its directory
// entry durable, so that frames synced into it survive a power loss.
func createSegment(store string, gen uint64) (*segment, error) {
	f, err := os.OpenFile(segmentPath(store, gen), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create log segment: %w", err)
	}
	if err := syncDir(filepath.Dir(store)); err != nil {
		f.Close()
		return nil, err
	}
	return &segment{f: f, gen: gen}, nil
}

// appendFrame seals frame — frameHeader bytes of room, then the payload —
// and writes and syncs it. After an error the caller rolls the segment back.
func (g *segment) appendFrame(frame []byte) error {
	sealFrame(frame)
	if _, err := g.f.Write(frame); err != nil {
		return fmt.Errorf("store: append to log %s: %w", g.f.Name(), err)
	}
	if err := syscall.Fdatasync(int(g.f.Fd())); err != nil {
		return fmt.Errorf("store: sync log %s: %w", g.f.Name(), err)
	}
	g.size += int64(len(frame))
	return nil
}

// rollback cuts the segment back to its last synced frame after a failed
// append (a full disk), so that the next commit can try again. Every frame
// up to there was synced before its commit returned; the failed one was
// never acknowledged. If this fails too, the tail is unknown and the caller
// stops using the segment.
func (g *segment) rollback() error {
	if err := g.f.Truncate(g.size); err != nil {
		return fmt.Errorf("store: cut log %s back after a failed write: %w", g.f.Name(), err)
	}
	if err := syscall.Fdatasync(int(g.f.Fd())); err != nil {
		return fmt.Errorf("store: sync log %s after cutting it back: %w", g.f.Name(), err)
	}
	return nil
}

// sealFrame fills in the header of frame, whose payload starts at
// frameHeader.
func sealFrame(frame []byte) {
	payload := frame[frameHeader:]
	binary.LittleEndian.PutUint32(frame[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(frame[8:], crc32.Checksum(frame[:8], castagnoli))
}

func (g *segment) close() error {
	if err := g.f.Close(); err != nil {
		return fmt.Errorf("store: close log %s: %w", g.f.Name(), err)
	}
	return nil
}

// errCorruptLog marks a log frame that fails its checksum or framing with
// more data after it: acknowledged commits would be lost by skipping it, so
// Open refuses.
var errCorruptLog = errors.New("store: corrupt log")

// readSegment returns the payloads of a segment's frames. A bad frame with
// no good one anywhere after it, in the newest segment (last), is the write
// a crash cut short — never acknowledged, since a commit returns only after
// its frame synced, and the next is written only then — and is dropped;
// torn says at which offset (-1: none). Any other bad frame is an error
// naming the file and offset: skipping it would lose acknowledged commits.
func readSegment(path string, last bool) (payloads [][]byte, torn int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, -1, fmt.Errorf("store: read log: %w", err)
	}
	off := 0
	for off < len(data) {
		payload, ok := frameAt(data, off)
		if !ok {
			if last && !frameAfter(data, off) {
				return payloads, int64(off), nil
			}
			return nil, -1, fmt.Errorf("%w: %s: bad frame at offset %d of %d bytes", errCorruptLog, path, off, len(data))
		}
		payloads = append(payloads, payload)
		off += frameHeader + len(payload)
	}
	return payloads, -1, nil
}

// frameAt returns the payload of a whole, checksummed frame at off.
func frameAt(data []byte, off int) ([]byte, bool) {
	if len(data)-off < frameHeader {
		return nil, false
	}
	h := data[off : off+frameHeader]
	if crc32.Checksum(h[:8], castagnoli) != binary.LittleEndian.Uint32(h[8:]) {
		return nil, false
	}
	n := binary.LittleEndian.Uint32(h)
	if n == 0 || n > maxFrame || uint64(len(data)-off-frameHeader) < uint64(n) {
		return nil, false
	}
	payload := data[off+frameHeader : off+frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		return nil, false
	}
	return payload, true
}

// frameAfter says whether a good frame starts anywhere after off: proof
// that the bad one at off is not the unfinished last write. Only a damaged
// log pays for the search.
func frameAfter(data []byte, off int) bool {
	for o := off + 1; o+frameHeader <= len(data); o++ {
		if _, ok := frameAt(data, o); ok {
			return true
		}
	}
	return false
}

// syncDir makes a directory's entries (created or removed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: open data dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("store: sync data dir: %w", err)
	}
	return nil
}

// removeSegments deletes the segments up to and including gen, which bbolt
// holds in full.
func removeSegments(store string, through uint64) error {
	gens, err := segments(store)
	if err != nil {
		return err
	}
	removed := false
	for _, gen := range gens {
		if gen > through {
			break
		}
		if err := os.Remove(segmentPath(store, gen)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: remove applied log segment: %w", err)
		}
		removed = true
	}
	if removed {
		// Not needed for safety (an applied segment left behind is removed at
		// the next Open), only so that the directory matches.
		return syncDir(filepath.Dir(store))
	}
	return nil
}
