package natsstore

import (
	"github.com/google/btree"

	"github.com/connectord/connectord/engine/store"
)

// state is this process's copy of everything the stream holds, rebuilt from
// the stream at Open and kept current by the commit loop (its own writes)
// and by catch-up reads (anything else that reached the stream). Reads are
// served from it. It is guarded by Store.mu.
type state struct {
	pipes map[string]*pipe
}

// pipe is one pipeline's state.
type pipe struct {
	seq   uint64 // last Seq handed out to an append or a transform dead letter
	queue *btree.BTreeG[*store.Record]
	dead  *btree.BTreeG[*store.DeadLetter]
	kv    *btree.BTreeG[kvEntry]
}

type kvEntry struct {
	key   string
	value []byte
}

const btreeDegree = 32

func newState() *state { return &state{pipes: map[string]*pipe{}} }

func newPipe() *pipe {
	return &pipe{
		queue: btree.NewG(btreeDegree, func(a, b *store.Record) bool { return a.Seq < b.Seq }),
		dead:  btree.NewG(btreeDegree, func(a, b *store.DeadLetter) bool { return a.Seq < b.Seq }),
		kv:    btree.NewG(btreeDegree, func(a, b kvEntry) bool { return a.key < b.key }),
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

// apply folds one message read from the stream into the state.
func (s *state) apply(m decoded) {
	p := s.pipe(m.pipeline)
	switch m.kind {
	case kindSeq:
		p.seq = max(p.seq, m.seq)
	case kindRecord:
		r := m.rec
		p.queue.ReplaceOrInsert(&r)
		p.seq = max(p.seq, r.Seq)
	case kindDead:
		d := m.dead
		p.dead.ReplaceOrInsert(&d)
		p.seq = max(p.seq, d.Seq)
	case kindKV:
		p.kv.ReplaceOrInsert(kvEntry{key: m.key, value: m.value})
	case kindGone:
		switch m.gone {
		case kindRecord:
			p.queue.Delete(&store.Record{Seq: m.seq})
		case kindDead:
			p.dead.Delete(&store.DeadLetter{Record: store.Record{Seq: m.seq}})
		case kindKV:
			p.kv.Delete(kvEntry{key: m.key})
		}
	}
}
