package natsstore

import (
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/connectord/connectord/engine/store"
)

// state is this process's copy of everything the stream holds, rebuilt from
// the stream at Open and kept current by the commit loop (its own writes,
// applied when acknowledged) and by the tail (every message of the stream,
// this store's and other writers'). Reads are served from it. It is
// guarded by Store.mu.
//
// The two paths may apply one subject's messages out of order (the tail
// may deliver another writer's older message after this store's own newer
// one was applied at its acknowledgement), so each subject remembers the
// stream sequence of the message last applied, and an older one is
// skipped: per subject the state ends at the stream's last message, which
// is what the rollups leave on the server.
type state struct {
	pipes map[string]*pipe
	// subjects holds, per subject, the stream sequence of the message last
	// applied: the skip check above, and what a batch that replaces the
	// entity expects as the subject's last sequence (per-subject fencing).
	subjects map[string]subjectMark
	// gone lists tombstones in the order applied, so their marks can be
	// dropped once no older message can still arrive (records, dead
	// letters: the tail has passed them) or the server has expired them
	// (keys: tombstoneTTL, after which the subject is empty).
	gone []goneMark
	// tailed is the stream sequence up to which the tail has applied.
	tailed uint64
}

type subjectMark struct {
	seq  uint64
	gone bool
	at   time.Time // tombstones: when written (server time when tailed)
}

type goneMark struct {
	subject string
	seq     uint64
	kv      bool
	at      time.Time
}

// pipe is one pipeline's state.
type pipe struct {
	seq   uint64 // highest Seq of a record or dead letter seen
	queue *btree.BTreeG[*store.Record]
	dead  *btree.BTreeG[*store.DeadLetter]
	kv    *btree.BTreeG[kvEntry]
	qsub  map[uint64]string // queued record Seq -> subject
	dsub  map[uint64]string // dead letter Seq -> subject
}

type kvEntry struct {
	key   string
	value []byte
}

const btreeDegree = 32

func newState() *state { return &state{pipes: map[string]*pipe{}, subjects: map[string]subjectMark{}} }

func newPipe() *pipe {
	return &pipe{
		queue: btree.NewG(btreeDegree, func(a, b *store.Record) bool { return a.Seq < b.Seq }),
		dead:  btree.NewG(btreeDegree, func(a, b *store.DeadLetter) bool { return a.Seq < b.Seq }),
		kv:    btree.NewG(btreeDegree, func(a, b kvEntry) bool { return a.key < b.key }),
		qsub:  map[uint64]string{},
		dsub:  map[uint64]string{},
	}
}

func (s *state) pipe(name string) *pipe {
	p := s.pipes[name]
	if p == nil {
		p = newPipe()
		s.pipes[name] = p
	}
	return p
}

func (p *pipe) record(seq uint64) (*store.Record, bool) {
	return p.queue.Get(&store.Record{Seq: seq})
}

func (p *pipe) deadLetter(seq uint64) (*store.DeadLetter, bool) {
	return p.dead.Get(&store.DeadLetter{Record: store.Record{Seq: seq}})
}

func (p *pipe) value(key string) ([]byte, bool) {
	e, ok := p.kv.Get(kvEntry{key: key})
	return e.value, ok
}

// applyAt folds the message at stream sequence seq on subject into the
// state, unless a later message of the subject was applied already; it
// reports whether it applied it. A record or dead letter whose payload
// has Seq 0 is a first append: its Seq is seq.
func (s *state) applyAt(subject string, seq uint64, m *decoded, at time.Time) bool {
	if mk, ok := s.subjects[subject]; ok && seq <= mk.seq {
		return false
	}
	switch m.kind {
	case kindRecord:
		if m.rec.Seq == 0 {
			m.rec.Seq = seq
		}
	case kindDead:
		if m.dead.Seq == 0 {
			m.dead.Seq = seq
		}
	}
	s.apply(subject, m)
	mk := subjectMark{seq: seq, gone: m.kind == kindGone}
	if mk.gone {
		mk.at = at
		s.gone = append(s.gone, goneMark{subject: subject, seq: seq, kv: m.gone == kindKV, at: at})
	}
	s.subjects[subject] = mk
	return true
}

// apply folds one message into the entities.
func (s *state) apply(subject string, m *decoded) {
	p := s.pipe(m.pipeline)
	switch m.kind {
	case kindRecord:
		r := m.rec
		p.queue.ReplaceOrInsert(&r)
		p.qsub[r.Seq] = subject
		p.seq = max(p.seq, r.Seq)
	case kindDead:
		d := m.dead
		p.dead.ReplaceOrInsert(&d)
		p.dsub[d.Seq] = subject
		p.seq = max(p.seq, d.Seq)
	case kindKV:
		p.kv.ReplaceOrInsert(kvEntry{key: m.key, value: m.value})
	case kindGone:
		switch m.gone {
		case kindRecord:
			p.queue.Delete(&store.Record{Seq: m.seq})
			delete(p.qsub, m.seq)
		case kindDead:
			p.dead.Delete(&store.DeadLetter{Record: store.Record{Seq: m.seq}})
			delete(p.dsub, m.seq)
		case kindKV:
			p.kv.Delete(kvEntry{key: m.key})
		}
	}
}

// prune drops tombstone marks nothing needs any more: a record's or dead
// letter's once the tail has passed it (any later message of its subject
// is newer), a key's once the server has expired the tombstone (then the
// subject is empty again, and a new write expects sequence 0).
func (s *state) prune(now time.Time) {
	keep := s.gone[:0]
	for _, g := range s.gone {
		mk, ok := s.subjects[g.subject]
		current := ok && mk.gone && mk.seq == g.seq
		done := !current || (!g.kv && g.seq <= s.tailed) || (g.kv && now.Sub(g.at) > tombstoneExpiry)
		if done {
			if current {
				delete(s.subjects, g.subject)
			}
			continue
		}
		keep = append(keep, g)
	}
	clear(s.gone[len(keep):])
	s.gone = keep
}

// expectFor is the last sequence a write replacing subject should expect:
// the subject's live message, or a tombstone the server still holds, or 0
// (no message: a new entity).
func (s *state) expectFor(subject string, now time.Time) uint64 {
	mk, ok := s.subjects[subject]
	if !ok {
		return 0
	}
	if mk.gone && now.Sub(mk.at) > tombstoneExpiry {
		return 0
	}
	return mk.seq
}

// seen is, per key subject, the sequence of the key's message as this
// store last read it (Value) or wrote it. A write of the key expects that
// sequence, not the latest the tail has applied: a poller reads its cursor
// when it starts and writes it after each page, so if another replica
// (the poller that took its lease over) moved the cursor in between, the
// write fails (ErrFenced) even though this store has seen the move; it
// passes again only after the caller reads the key anew. A key this store
// never read or wrote expects the latest sequence it knows.
type seen struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (s *seen) read(subject string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]uint64{}
	}
	s.m[subject] = seq
}

func (s *seen) forget(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, subject)
}

func (s *seen) get(subject string) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, ok := s.m[subject]
	return seq, ok
}
