package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// stage is one group commit's view and its writes: reads see the group's
// own writes so far, then the overlay, then bbolt (through one read
// transaction begun on first need); writes stay here until the group's log
// frame has synced. Only the commit goroutine uses it, and it alone changes
// the overlay, so it reads the overlay without the lock.
type stage struct {
	ov    *overlay
	db    *bolt.DB
	tx    *bolt.Tx
	pipes map[string]*stagePipe
	order []string // pipelines in the order they were first written

	// What reset keeps for the next group: emptied pipes and the writes
	// slice. A stage per group was about a dozen allocations, most of
	// them growing the same maps and slices again.
	spare []*stagePipe
	ws    []write
}

type stagePipe struct {
	exists  bool
	written bool
	meta    pipeMeta
	cleared bool // every dead letter purged in this group
	sp      [numSpaces]map[string]stEntry
	keys    [numSpaces][]string // keys in first-write order

	// The pipeline's buckets in the read transaction and a cursor on
	// each, opened on first need: opening them for every read (a read
	// transaction does not cache buckets) cost the dedupe check and the
	// ack about seven allocations each.
	opened  bool
	inBolt  bool // the pipeline has buckets in bbolt
	buckets pipeBuckets
	cursors [numSpaces]*bolt.Cursor
}

// cursor is a cursor on the pipeline's bbolt bucket for sp, or nil if the
// pipeline has none there.
func (st *stage) cursor(p *stagePipe, pipe string, sp space) (*bolt.Cursor, error) {
	if !p.opened {
		tx, err := st.boltTx()
		if err != nil {
			return nil, err
		}
		p.buckets, p.inBolt = readPipeline(tx, pipe)
		p.opened = true
	}
	if !p.inBolt {
		return nil, nil
	}
	if p.cursors[sp] == nil {
		p.cursors[sp] = p.buckets.bucket(sp).Cursor()
	}
	return p.cursors[sp], nil
}

type stEntry struct {
	val   []byte
	del   bool
	fresh bool
}

func newStage(ov *overlay, db *bolt.DB) *stage {
	return &stage{ov: ov, db: db, pipes: map[string]*stagePipe{}}
}

// maxKeptKeys bounds what reset keeps of one space: a group's usual keys,
// not a large purge's.
const maxKeptKeys = 1024

// reset empties st for the next group (ending its read transaction), keeping
// its maps' and slices' room when it is not too large.
func (st *stage) reset() {
	st.close()
	for _, p := range st.pipes {
		kept := stagePipe{}
		for sp := range numSpaces {
			if m := p.sp[sp]; m != nil && len(m) <= maxKeptKeys {
				clear(m)
				kept.sp[sp] = m
			}
			if k := p.keys[sp]; cap(k) <= maxKeptKeys {
				clear(k)
				kept.keys[sp] = k[:0]
			}
		}
		*p = kept // drops the cursors and buckets of the ended transaction
		st.spare = append(st.spare, p)
	}
	clear(st.pipes)
	clear(st.order)
	st.order = st.order[:0]
	if cap(st.ws) > maxKeptKeys {
		st.ws = nil
	}
	clear(st.ws)
	st.ws = st.ws[:0]
}

// close ends the read transaction.
func (st *stage) close() {
	if st.tx != nil {
		_ = st.tx.Rollback()
		st.tx = nil
	}
}

func (st *stage) boltTx() (*bolt.Tx, error) {
	if st.tx == nil {
		tx, err := st.db.Begin(false)
		if err != nil {
			return nil, fmt.Errorf("store: read transaction: %w", err)
		}
		st.tx = tx
	}
	return st.tx, nil
}

// pipe returns the pipeline's staged state, loading whether it exists and
// its counters; nil, nil if it does not exist and create is false.
func (st *stage) pipe(name string, create bool) (*stagePipe, error) {
	p := st.pipes[name]
	if p == nil {
		if n := len(st.spare); n > 0 {
			p, st.spare = st.spare[n-1], st.spare[:n-1]
		} else {
			p = &stagePipe{}
		}
		if op := st.ov.pipes[name]; op != nil {
			p.exists, p.meta = true, op.meta
		} else {
			tx, err := st.boltTx()
			if err != nil {
				return nil, err
			}
			p.buckets, p.inBolt = readPipeline(tx, name)
			p.opened = true
			if b := p.buckets; p.inBolt {
				p.exists = true
				p.meta = pipeMeta{seq: b.root.Sequence(), queued: b.counter(keyQueued), dead: b.counter(keyDead)}
			}
		}
		st.pipes[name] = p
	}
	if !p.exists {
		if !create {
			return nil, nil
		}
		p.exists = true
	}
	if create {
		st.touch(name, p)
	}
	return p, nil
}

func (st *stage) touch(name string, p *stagePipe) {
	if !p.written {
		p.written = true
		st.order = append(st.order, name)
	}
}

// get returns a key's current value; ok=false if it is absent.
func (st *stage) get(pipe string, sp space, key string) ([]byte, bool, error) {
	p, err := st.pipe(pipe, false)
	if err != nil || p == nil {
		return nil, false, err
	}
	if e, in := p.sp[sp][key]; in {
		return e.val, !e.del, nil
	}
	if sp == spaceDead && p.cleared {
		return nil, false, nil
	}
	if v, decided := st.ov.lookup(pipe, sp, key); decided {
		return v, v != nil, nil
	}
	c, err := st.cursor(p, pipe, sp)
	if err != nil || c == nil {
		return nil, false, err
	}
	// A cursor tells a missing key from an empty value; Get does not.
	k, v := c.Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil, false, nil
	}
	return v, true, nil
}

// put sets a key in an existing (or just created) pipeline. fresh says the
// caller knows no one holds the key (a new Seq).
func (st *stage) put(p *stagePipe, pipe string, sp space, key string, val []byte, fresh bool) {
	st.set(p, pipe, sp, key, stEntry{val: val, fresh: fresh})
}

func (st *stage) del(p *stagePipe, pipe string, sp space, key string) {
	st.set(p, pipe, sp, key, stEntry{del: true})
}

func (st *stage) set(p *stagePipe, pipe string, sp space, key string, e stEntry) {
	st.touch(pipe, p)
	if p.sp[sp] == nil {
		p.sp[sp] = map[string]stEntry{}
	}
	if old, in := p.sp[sp][key]; in {
		e.fresh = old.fresh
	} else {
		if ov := st.ov.space(pipe, sp); ov != nil {
			if oe, in := ov.m[key]; in {
				e.fresh = oe.born > st.ov.frozen
			}
		}
		p.keys[sp] = append(p.keys[sp], key)
	}
	p.sp[sp][key] = e
}

// clearDead drops every dead letter of the pipeline.
func (st *stage) clearDead(p *stagePipe, pipe string) {
	st.touch(pipe, p)
	p.cleared = true
	p.sp[spaceDead] = nil
	p.keys[spaceDead] = nil
}

// writes is the group's outcome: per pipeline a purge first if any, then
// each key's final state, then the counters.
//
// The slice is the stage's: it is valid until the stage is reset.
func (st *stage) writes() []write {
	ws := st.ws[:0]
	for _, name := range st.order {
		p := st.pipes[name]
		if p.cleared {
			ws = append(ws, write{kind: writeClearDead, space: spaceDead, pipe: name})
		}
		for sp := range numSpaces {
			for _, k := range p.keys[sp] {
				e := p.sp[sp][k]
				w := write{kind: writePut, space: sp, pipe: name, key: k, val: e.val, fresh: e.fresh}
				if e.del {
					w.kind, w.val = writeDelete, nil
				}
				ws = append(ws, w)
			}
		}
		ws = append(ws, write{kind: writeMeta, pipe: name, meta: p.meta})
	}
	st.ws = ws
	return ws
}
