package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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
	add := func(subject string, data []byte, gone bool) {
		m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		m.Header[jetstream.MsgRollup] = []string{jetstream.MsgRollupSubject}
		if gone {
			m.Header[jetstream.MsgTTLHeader] = []string{tombstoneTTL}
		}
		msgs = append(msgs, m)
	}
	for p, seq := range t.seqs {
		add(l.seqSubject(p), encodeSeq(p, seq), false)
	}
	for _, c := range t.order {
		if c.gone && !c.existed {
			continue // created and removed within the group: nothing to say
		}
		switch c.kind {
		case kindRecord:
			if c.gone {
				add(l.queueSubject(c.pipeline, c.seq), encodeGone(c.pipeline, kindRecord, c.seq, ""), true)
			} else {
				add(l.queueSubject(c.pipeline, c.seq), encodeRecord(c.pipeline, c.rec), false)
			}
		case kindDead:
			if c.gone {
				add(l.deadSubject(c.pipeline, c.seq), encodeGone(c.pipeline, kindDead, c.seq, ""), true)
			} else {
				add(l.deadSubject(c.pipeline, c.seq), encodeDead(c.pipeline, c.dead), false)
			}
		case kindKV:
			if c.gone {
				add(l.kvSubject(c.pipeline, c.key), encodeGone(c.pipeline, kindKV, 0, c.key), true)
			} else {
				add(l.kvSubject(c.pipeline, c.key), encodeKV(c.pipeline, c.key, c.value), false)
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

// publishBatch sends msgs as one atomic batch: all but the last without a
// reply (the connection keeps them in order), the last as a request that
// commits the batch and returns the stream sequence of its last message.
func publishBatch(ctx context.Context, nc *nats.Conn, msgs []*nats.Msg) (uint64, error) {
	id := nuid.Next()
	for i, m := range msgs {
		m.Header[hdrBatchID] = []string{id}
		m.Header[hdrBatchSeq] = []string{strconv.Itoa(i + 1)}
		if i < len(msgs)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return 0, fmt.Errorf("publishing message %d of %d: %w", i+1, len(msgs), err)
			}
		}
	}
	last := msgs[len(msgs)-1]
	last.Header[hdrBatchCommit] = []string{"1"}
	resp, err := nc.RequestMsgWithContext(ctx, last)
	if err != nil {
		return 0, fmt.Errorf("committing a batch of %d messages: %w", len(msgs), err)
	}
	var ack batchAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return 0, fmt.Errorf("committing a batch of %d messages: unreadable answer %q: %w", len(msgs), resp.Data, err)
	}
	if ack.Error != nil {
		return 0, ack.Error
	}
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
