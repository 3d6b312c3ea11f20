package natsstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Header names of JetStream's atomic batch publish (nats-server ≥ 2.12).
const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
)

// tombstoneTTL is how long a delete's tombstone stays in the stream. Its
// rollup already removed the entity's previous message, so once it expires
// the subject is simply empty, which reads back the same way.
const tombstoneTTL = "1m"

// tombstoneExpiry is when this store takes a key's tombstone to be gone
// from the server (its Nats-TTL): a new write of the key then expects
// sequence 0.
const tombstoneExpiry = time.Minute

// build turns the overlay into the batch's messages. There is no global
// fence (several replicas write one stream); instead every message that
// replaces or creates a key, and every message that replaces a queued
// record, carries Nats-Expected-Last-Subject-Sequence: the sequence of the
// subject's last message as this store knows it, 0 for a subject with
// none. A poller whose cursor another replica moved, a second replica's
// PutIfAbsent of a dedupe mark, a deposed owner's ack of a record the new
// owner has rewritten: each fails the whole batch (ErrFenced) and writes
// nothing. New records and transform dead letters are on fresh subjects
// and need no expectation; a queued record's dead letter rolls up its
// own subject, so a repeat is harmless. A subject that a batch in flight
// ahead of this one writes gets no expectation: a clustered stream checks
// them against what it has applied, not against proposals in flight, so
// it would fail the batch. Only this store writes those subjects while
// they are in flight (a poller's cursor, a delivery's record).
func (t *tx) build(l layout) ([]*nats.Msg, error) {
	msgs := make([]*nats.Msg, 0, t.messages())
	t.subjects = map[string]bool{}
	fence := func(m *nats.Msg, key bool) {
		if seq, ok := t.subjectSeq(m.Subject, key); ok {
			m.Header[jetstream.ExpectedLastSubjSeqHeader] = []string{strconv.FormatUint(seq, 10)}
		}
	}
	// An entity that exists rolls up its previous message; a new one has
	// none to replace (at most a tombstone, older, that reads back the
	// same way), which spares the server a per-subject purge.
	add := func(c *change, subject string, data []byte, rollup bool) *nats.Msg {
		m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		if rollup {
			m.Header[jetstream.MsgRollup] = []string{jetstream.MsgRollupSubject}
		}
		if c != nil && c.gone {
			m.Header[jetstream.MsgTTLHeader] = []string{tombstoneTTL}
		}
		if c != nil {
			c.msg = len(msgs)
		}
		t.subjects[subject] = true
		msgs = append(msgs, m)
		return m
	}
	for p := range t.created {
		add(nil, l.seqSubject(p), encodeSeq(p, 0), true)
	}
	for _, c := range t.order {
		if c.gone && !c.existed {
			continue // created and removed within the group: nothing to say
		}
		switch c.kind {
		case kindRecord:
			subject, err := t.recordSubject(l, c)
			if err != nil {
				return nil, err
			}
			var m *nats.Msg
			if c.gone {
				m = add(c, subject, encodeGone(c.pipeline, kindRecord, c.seq, ""), c.existed)
			} else {
				m = add(c, subject, encodeRecord(c.pipeline, c.rec), c.existed)
			}
			if c.existed {
				fence(m, false)
			}
		case kindDead:
			subject := t.deadSubject(l, c)
			if c.gone {
				add(c, subject, encodeGone(c.pipeline, kindDead, c.seq, ""), c.existed)
			} else {
				add(c, subject, encodeDead(c.pipeline, c.dead), c.existed)
			}
		case kindKV:
			subject := l.kvSubject(c.pipeline, c.key)
			if c.gone {
				fence(add(c, subject, encodeGone(c.pipeline, kindKV, 0, c.key), c.existed), true)
			} else {
				fence(add(c, subject, encodeKV(c.pipeline, c.key, c.value), c.existed), true)
			}
		}
	}
	for _, m := range msgs {
		if len(m.Data)+len(m.Subject)+payloadSlack/2 > t.limits.maxPayload {
			return nil, fmt.Errorf("message %s of %d bytes is over the NATS server's max_payload (%d)", m.Subject, len(m.Data), t.limits.maxPayload)
		}
	}
	return msgs, nil
}

// recordSubject is a queued record's subject: its own token if the group
// creates it, else the subject the state knows it by.
func (t *tx) recordSubject(l layout, c *change) (string, error) {
	if c.id != "" {
		return l.queueSubject(c.pipeline, c.id), nil
	}
	if sp := t.statePipe(c.pipeline); sp != nil {
		if s, ok := sp.qsub[c.seq]; ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("record %d of pipeline %q has no known subject", c.seq, c.pipeline)
}

// deadSubject is a dead letter's subject: the one the state knows it by,
// or the one the group gives it.
func (t *tx) deadSubject(l layout, c *change) string {
	if sp := t.statePipe(c.pipeline); sp != nil && c.seq < tentative {
		if s, ok := sp.dsub[c.seq]; ok {
			return s
		}
	}
	id := c.id
	if id == "" {
		id = deadID(c.seq)
	}
	return l.deadSubject(c.pipeline, id)
}

// subjectSeq is the expected last sequence of subject: for a key this
// store read or wrote, the sequence it read or wrote (see seen); else that
// of its last message as the state knows it (acknowledged, and so applied
// on the stream leader), or 0 for none. A subject a batch in flight ahead
// of t writes reports false (see build).
func (t *tx) subjectSeq(subject string, key bool) (uint64, bool) {
	for x := t.base; x != nil; x = x.base {
		if x.subjects[subject] {
			return 0, false
		}
	}
	if key && t.seen != nil {
		if seq, ok := t.seen.get(subject); ok {
			return seq, true
		}
	}
	return t.st.expectFor(subject, time.Now()), true
}

// batchAck is the server's answer to a batch commit.
type batchAck struct {
	Stream   string              `json:"stream"`
	Sequence uint64              `json:"seq"`
	BatchID  string              `json:"batch"`
	Count    int                 `json:"count"`
	Error    *jetstream.APIError `json:"error"`
}

// replies routes batch acknowledgements, which arrive on one wildcard inbox
// subscription, to the flight waiting for each.
type replies struct {
	mu      sync.Mutex
	sub     *nats.Subscription
	prefix  string
	next    uint64
	waiting map[string]chan *nats.Msg
	byChan  map[chan *nats.Msg]string
}

func (r *replies) start(nc *nats.Conn) error {
	r.prefix = nc.NewInbox()
	r.waiting = map[string]chan *nats.Msg{}
	r.byChan = map[chan *nats.Msg]string{}
	sub, err := nc.Subscribe(r.prefix+".*", func(m *nats.Msg) {
		r.mu.Lock()
		ch := r.waiting[m.Subject]
		r.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default: // a second answer (flow control): the first counts
			}
		}
	})
	if err != nil {
		return fmt.Errorf("subscribing to acknowledgements: %w", err)
	}
	r.sub = sub
	return nil
}

func (r *replies) stop() {
	if r.sub != nil {
		_ = r.sub.Unsubscribe()
	}
}

// send publishes msgs as one atomic batch: all but the last without a reply
// (one connection keeps them, and the batches after them, in order), the
// last with the commit header and a reply subject on which the server
// answers with the stream sequence of the batch's last message.
func (r *replies) send(nc *nats.Conn, msgs []*nats.Msg) (chan *nats.Msg, error) {
	id := nuid.Next()
	for i, m := range msgs {
		m.Header[hdrBatchID] = []string{id}
		m.Header[hdrBatchSeq] = []string{strconv.Itoa(i + 1)}
	}
	last := msgs[len(msgs)-1]
	last.Header[hdrBatchCommit] = []string{"1"}
	ch := make(chan *nats.Msg, 1)
	r.mu.Lock()
	r.next++
	last.Reply = r.prefix + "." + strconv.FormatUint(r.next, 10)
	r.waiting[last.Reply] = ch
	r.byChan[ch] = last.Reply
	r.mu.Unlock()
	for i, m := range msgs {
		if err := nc.PublishMsg(m); err != nil {
			r.forget(ch)
			return nil, fmt.Errorf("publishing message %d of %d: %w", i+1, len(msgs), err)
		}
	}
	return ch, nil
}

func (r *replies) forget(ch chan *nats.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, r.byChan[ch])
	delete(r.byChan, ch)
}

// parseAck reads the server's answer to a batch commit: the stream sequence
// of its last message, or the server's error.
func parseAck(m *nats.Msg, msgs []*nats.Msg) (uint64, error) {
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return 0, nats.ErrNoResponders
	}
	var ack batchAck
	if err := json.Unmarshal(m.Data, &ack); err != nil {
		return 0, fmt.Errorf("committing a batch of %d messages: unreadable answer %q: %w", len(msgs), m.Data, err)
	}
	if ack.Error != nil {
		return 0, ack.Error
	}
	id := msgs[0].Header.Get(hdrBatchID)
	if ack.BatchID != id || ack.Count != len(msgs) || ack.Sequence < uint64(len(msgs)) {
		return 0, fmt.Errorf("committing a batch of %d messages: the server acknowledged batch %q of %d messages at %d", len(msgs), ack.BatchID, ack.Count, ack.Sequence)
	}
	return ack.Sequence, nil
}

// isWrongLastSequence reports the server's rejection of a batch whose
// expected last sequence is not the stream's: another writer got there
// first (10071, or 10164 on a replicated stream).
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
