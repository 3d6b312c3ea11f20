package store

import (
	"bytes"
	"math"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// The overlay is the part of the state that is in the log but not yet in
// bbolt: every key written since the last finished checkpoint, with its new
// value or a deletion mark. Reads look here first and fall through to bbolt.
// Only the commit goroutine changes it (merging a synced group, dropping
// what a checkpoint applied), under Bolt.ovMu; readers hold the read lock.
//
// A key created since the last checkpoint began (born > frozen) is in
// neither bbolt nor a checkpoint under way, so deleting it just forgets it:
// an event acknowledged within a checkpoint interval never reaches bbolt.
type overlay struct {
	pipes map[string]*ovPipe
	// frozen is the newest generation handed to a checkpoint.
	frozen uint64
	// values counts the bytes of the values held, for the checkpoint
	// trigger and its memory bound.
	values int64
}

// ovPipe is one pipeline's part of the overlay. It exists only for a
// pipeline that exists, and always carries its current counters.
type ovPipe struct {
	meta    pipeMeta
	metaGen uint64
	// clearedGen is the generation of a purge of every dead letter that
	// bbolt has not seen yet: bbolt's dead letters are hidden (0: none).
	clearedGen uint64
	sp         [numSpaces]ovSpace
}

type ovSpace struct {
	m map[string]ovEntry
	// idx lists the keys in order (queue and dead letters only; the key
	// space is scanned rarely and sorted then). It may still hold keys
	// forgotten since: stale counts them.
	idx   []string
	stale int
}

// ovEntry is a key's state newer than bbolt's.
type ovEntry struct {
	val  []byte // nil: deleted
	gen  uint64 // the log generation that wrote it
	born uint64 // generation that created the key where nothing had it; 0: unknown
}

func newOverlay() *overlay { return &overlay{pipes: map[string]*ovPipe{}} }

// lookup returns the overlay's verdict on a key: ok=false means "ask
// bbolt"; otherwise val is the value, nil if the key is absent.
func (o *overlay) lookup(pipe string, sp space, key string) (val []byte, ok bool) {
	p := o.pipes[pipe]
	if p == nil {
		return nil, false
	}
	if e, in := p.sp[sp].m[key]; in {
		return e.val, true
	}
	if sp == spaceDead && p.clearedGen != 0 {
		return nil, true
	}
	return nil, false
}

// merge applies a synced group's writes, generation gen.
func (o *overlay) merge(gen uint64, ws []write) {
	for i := range ws {
		w := &ws[i]
		p := o.pipes[w.pipe]
		if p == nil {
			p = &ovPipe{}
			o.pipes[w.pipe] = p
		}
		s := &p.sp[w.space]
		switch w.kind {
		case writeMeta:
			p.meta, p.metaGen = w.meta, gen
		case writeClearDead:
			for _, e := range s.m {
				o.values -= int64(len(e.val))
			}
			*s = ovSpace{}
			p.clearedGen = gen
		case writePut, writeDelete:
			if s.m == nil {
				s.m = map[string]ovEntry{}
			}
			e, had := s.m[w.key]
			fresh := w.fresh
			if had {
				fresh = e.born > o.frozen
				o.values -= int64(len(e.val))
			}
			if w.kind == writeDelete && fresh {
				if had {
					delete(s.m, w.key)
					s.forgot()
				}
				continue
			}
			ne := ovEntry{gen: gen}
			if fresh {
				ne.born = gen
			}
			if w.kind == writePut {
				ne.val = w.val
				if ne.val == nil {
					ne.val = []byte{}
				}
				o.values += int64(len(ne.val))
			}
			s.m[w.key] = ne
			if !had && w.space != spaceKV {
				s.insert(w.key)
			}
		}
	}
}

// insert adds a new key to idx; appends (new Seqs) are the common case.
func (s *ovSpace) insert(key string) {
	if n := len(s.idx); n == 0 || s.idx[n-1] < key {
		s.idx = append(s.idx, key)
		return
	}
	i, found := slices.BinarySearch(s.idx, key)
	if found {
		s.stale-- // a forgotten key written again
		return
	}
	s.idx = slices.Insert(s.idx, i, key)
}

// forgot counts a key dropped from m, compacting idx once most of it is
// stale (amortised: each compaction halves it at least).
func (s *ovSpace) forgot() {
	if s.idx == nil {
		return // kv: no index
	}
	if s.stale++; s.stale > 1024 && s.stale > len(s.idx)/2 {
		s.compact()
	}
}

func (s *ovSpace) compact() {
	s.idx = slices.DeleteFunc(s.idx, func(k string) bool { _, in := s.m[k]; return !in })
	s.stale = 0
}

// snapshot returns every write the overlay holds, for a checkpoint of the
// generations up to gen, and marks them frozen so that deleting one of them
// later leaves a deletion mark for the next checkpoint.
func (o *overlay) snapshot(gen uint64) []write {
	var ws []write
	for name, p := range o.pipes {
		if p.clearedGen != 0 {
			ws = append(ws, write{kind: writeClearDead, pipe: name})
		}
		for sp := range numSpaces {
			for k, e := range p.sp[sp].m {
				w := write{kind: writePut, space: sp, pipe: name, key: k, val: e.val}
				if e.val == nil {
					w.kind = writeDelete
				}
				ws = append(ws, w)
			}
		}
		ws = append(ws, write{kind: writeMeta, pipe: name, meta: p.meta})
	}
	o.frozen = gen
	return ws
}

// reap forgets what a finished checkpoint of the generations up to gen put
// in bbolt; anything written since stays.
func (o *overlay) reap(gen uint64) {
	for name, p := range o.pipes {
		if p.metaGen <= gen {
			// Every write to a pipeline writes its counters too: nothing of
			// it is newer than the checkpoint.
			for sp := range numSpaces {
				for _, e := range p.sp[sp].m {
					o.values -= int64(len(e.val))
				}
			}
			delete(o.pipes, name)
			continue
		}
		if p.clearedGen <= gen {
			p.clearedGen = 0
		}
		for sp := range numSpaces {
			s := &p.sp[sp]
			for k, e := range s.m {
				if e.gen <= gen {
					o.values -= int64(len(e.val))
					delete(s.m, k)
					s.stale++
				}
			}
			s.compact()
		}
	}
}

// space returns the pipeline's overlay space, or nil.
func (o *overlay) space(pipe string, sp space) *ovSpace {
	if p := o.pipes[pipe]; p != nil {
		return &p.sp[sp]
	}
	return nil
}

// deadCleared says whether the pipeline's bbolt dead letters are purged.
func (o *overlay) deadCleared(pipe string) bool {
	p := o.pipes[pipe]
	return p != nil && p.clearedGen != 0
}

// mergeAfter calls fn for up to limit present keys above after of a
// Seq-keyed space, in order, from the overlay space ov (nil: empty) over
// bbolt bucket b (nil: none).
func mergeAfter(ov *ovSpace, b *bolt.Bucket, after uint64, limit int, fn func(k, v []byte) error) error {
	if after == math.MaxUint64 {
		return nil
	}
	start := seqKey(after + 1)
	var idx []string
	var m map[string]ovEntry
	if ov != nil {
		idx, m = ov.idx, ov.m
	}
	i := sort.SearchStrings(idx, string(start))
	var c *bolt.Cursor
	var bk, bv []byte
	if b != nil {
		c = b.Cursor()
		bk, bv = c.Seek(start)
	}
	for n := 0; n < limit; {
		var ok string
		var oe ovEntry
		haveO := false
		for ; i < len(idx); i++ {
			if e, in := m[idx[i]]; in {
				ok, oe, haveO = idx[i], e, true
				break
			}
		}
		if !haveO && bk == nil {
			return nil
		}
		if haveO && (bk == nil || ok <= string(bk)) {
			if bk != nil && ok == string(bk) {
				bk, bv = c.Next()
			}
			i++
			if oe.val == nil {
				continue
			}
			if err := fn([]byte(ok), oe.val); err != nil {
				return err
			}
			n++
			continue
		}
		if err := fn(bk, bv); err != nil {
			return err
		}
		n++
		bk, bv = c.Next()
	}
	return nil
}

// kvEntry is an overlay key-value entry copied out for a Scan.
type kvEntry struct {
	key string
	val []byte // nil: deleted
}

// prefixed returns the overlay's entries of a key space with the prefix,
// in key order.
func (s *ovSpace) prefixed(prefix string) []kvEntry {
	if s == nil {
		return nil
	}
	var out []kvEntry
	for k, e := range s.m {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, kvEntry{k, e.val})
		}
	}
	slices.SortFunc(out, func(a, b kvEntry) int { return bytes.Compare([]byte(a.key), []byte(b.key)) })
	return out
}
