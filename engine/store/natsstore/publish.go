package natsstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

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

// build turns the overlay into the batch's messages, the first carrying the
// expected last stream sequence that fences every other writer.
func (t *tx) build(l layout, expectLast uint64) ([]*nats.Msg, error) {
	msgs := make([]*nats.Msg, 0, t.messages())
	// An entity that exists rolls up its previous message; a new one has
	// none to replace (at most a tombstone, older, that reads back the
	// same way), which spares the server a per-subject purge.
	add := func(subject string, data []byte, gone bool, rollup bool) {
		m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		if rollup {
			m.Header[jetstream.MsgRollup] = []string{jetstream.MsgRollupSubject}
		}
		if gone {
			m.Header[jetstream.MsgTTLHeader] = []string{tombstoneTTL}
		}
		msgs = append(msgs, m)
	}
	for p, seq := range t.seqs {
		add(l.seqSubject(p), encodeSeq(p, seq), false, true)
	}
	for _, c := range t.order {
		if c.gone && !c.existed {
			continue // created and removed within the group: nothing to say
		}
		switch c.kind {
		case kindRecord:
			if c.gone {
				add(l.queueSubject(c.pipeline, c.seq), encodeGone(c.pipeline, kindRecord, c.seq, ""), true, c.existed)
			} else {
				add(l.queueSubject(c.pipeline, c.seq), encodeRecord(c.pipeline, c.rec), false, c.existed)
			}
		case kindDead:
			if c.gone {
				add(l.deadSubject(c.pipeline, c.seq), encodeGone(c.pipeline, kindDead, c.seq, ""), true, c.existed)
			} else {
				add(l.deadSubject(c.pipeline, c.seq), encodeDead(c.pipeline, c.dead), false, c.existed)
			}
		case kindKV:
			if c.gone {
				add(l.kvSubject(c.pipeline, c.key), encodeGone(c.pipeline, kindKV, 0, c.key), true, c.existed)
			} else {
				add(l.kvSubject(c.pipeline, c.key), encodeKV(c.pipeline, c.key, c.value), false, c.existed)
			}
		}
	}
	for _, m := range msgs {
		if len(m.Data)+len(m.Subject)+payloadSlack/2 > t.limits.maxPayload {
			return nil, fmt.Errorf("message %s of %d bytes is over the NATS server's max_payload (%d)", m.Subject, len(m.Data), t.limits.maxPayload)
		}
	}
	if len(msgs) > 0 {
		msgs[0].Header[jetstream.ExpectedLastSeqHeader] = []string{strconv.FormatUint(expectLast, 10)}
	}
	return msgs, nil
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
