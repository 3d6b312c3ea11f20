// Package store is connectord's durable state: per-pipeline event queues, a
// per-pipeline key-value space (cursors, dedupe marks, tokens) and dead
// letters.
//
// Store is an interface so that a distributed backend can be added later; the
// embedded implementation (Open) is a write-ahead log in front of a
// go.etcd.io/bbolt file: a commit is one checksummed log frame and one
// fdatasync, and background checkpoints move what is still needed into
// bbolt, so an event delivered within a few seconds never costs bbolt a
// page write. Every write goes through Commit with a Batch, which applies
// atomically: a poller can store its events and move its cursor in one
// commit, and a delivery worker can remove an event and write its dead
// letter in one commit. Concurrent Commit calls share one disk sync (group
// commit).
package store

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("store: closed")

// ErrNotFound is returned when a record, dead letter or key does not exist.
var ErrNotFound = errors.New("store: not found")

// Record is one queued event.
type Record struct {
	// Seq is the queue position, assigned by Commit; strictly increasing
	// per pipeline and never reused.
	Seq uint64 `json:"seq"`
	// ID is the eventId delivered to receivers.
	ID string `json:"id"`
	// Key orders delivery (the object id).
	Key string `json:"key,omitempty"`
	// Body is the exact JSON the sink sends.
	Body []byte `json:"body"`
	// Stored is when the record was committed.
	Stored time.Time `json:"stored"`
	// Attempts counts failed delivery attempts so far.
	Attempts int `json:"attempts,omitempty"`
	// NextAttempt is when delivery may be tried again (zero: now).
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// LastError describes the last failed attempt.
	LastError string `json:"last_error,omitempty"`
}

// DeadLetter is an event that will not be delivered without an operator's
// replay: a permanent sink error, exhausted retries, or a transform error.
type DeadLetter struct {
	// Record is the event as it was queued. For a transform error Body holds
	// the transform's input and Seq is the dead letter's own number.
	Record
	// Stage is "deliver" or "transform".
	Stage string `json:"stage"`
	// Status is the last HTTP status, 0 if none.
	Status int `json:"status,omitempty"`
	// Error is the last error message.
	Error string `json:"error"`
	// Response is a snippet of the receiver's last response body.
	Response string `json:"response,omitempty"`
	// Died is when the event was dead-lettered.
	Died time.Time `json:"died"`
}

// Batch collects writes that Commit applies atomically. Operations apply in
// the order they were added. A Batch is not safe for concurrent use.
type Batch struct {
	Ops []Op
}

// OpKind says what an Op does.
type OpKind uint8

const (
	OpAppend      OpKind = iota + 1 // append Record to Pipeline's queue; Seq is assigned
	OpUpdate                        // rewrite the queued Record with Record.Seq (attempt bookkeeping)
	OpAck                           // remove Record.Seq from the queue (delivered)
	OpDeadLetter                    // remove Dead.Seq from the queue if queued, store Dead
	OpPut                           // set Key to Value in Pipeline's key-value space
	OpDelete                        // delete Key from Pipeline's key-value space
	OpPutIfAbsent                   // like OpPut, but if Key exists the whole batch fails with ErrExists
	OpDropDead                      // delete dead letter Dead.Seq (after a replay)
)

// ErrExists is returned by Commit when an OpPutIfAbsent key already exists;
// nothing in that batch was applied.
var ErrExists = errors.New("store: key exists")

// Op is one write.
type Op struct {
	Kind     OpKind
	Pipeline string
	Record   Record
	Dead     DeadLetter
	Key      string
	Value    []byte
}

// Append queues r for pipeline.
func (b *Batch) Append(pipeline string, r Record) {
	b.Ops = append(b.Ops, Op{Kind: OpAppend, Pipeline: pipeline, Record: r})
}

// Update rewrites the queued record r.Seq (attempts, next attempt, error).
func (b *Batch) Update(pipeline string, r Record) {
	b.Ops = append(b.Ops, Op{Kind: OpUpdate, Pipeline: pipeline, Record: r})
}

// Ack removes seq from pipeline's queue.
func (b *Batch) Ack(pipeline string, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpAck, Pipeline: pipeline, Record: Record{Seq: seq}})
}

// DeadLetter stores d and removes d.Seq from the queue if it is queued. A
// transform-stage dead letter (never queued) gets a fresh Seq, which Commit
// fills in the batch.
func (b *Batch) DeadLetter(pipeline string, d DeadLetter) {
	b.Ops = append(b.Ops, Op{Kind: OpDeadLetter, Pipeline: pipeline, Dead: d})
}

// Put sets key to value in pipeline's key-value space.
func (b *Batch) Put(pipeline, key string, value []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPut, Pipeline: pipeline, Key: key, Value: value})
}

// PutIfAbsent sets key to value, failing the whole batch with ErrExists if the
// key is already set. Webhook dedupe uses it so that two concurrent deliveries
// of one notification store one event.
func (b *Batch) PutIfAbsent(pipeline, key string, value []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutIfAbsent, Pipeline: pipeline, Key: key, Value: value})
}

// Delete removes key from pipeline's key-value space.
func (b *Batch) Delete(pipeline, key string) {
	b.Ops = append(b.Ops, Op{Kind: OpDelete, Pipeline: pipeline, Key: key})
}

// DropDeadLetter deletes dead letter seq; with Append of the same record it
// makes a replay atomic.
func (b *Batch) DropDeadLetter(pipeline string, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDropDead, Pipeline: pipeline, Dead: DeadLetter{Record: Record{Seq: seq}}})
}

// Len is the number of operations.
func (b *Batch) Len() int { return len(b.Ops) }

// DeferredCommitter is implemented by stores that can hold a batch back
// briefly so that it shares a sync with the next write. CommitDeferred keeps
// Commit's contract — when it returns nil the batch is durable, and batches
// apply in the order they were handed over — but the store may wait a
// little (a few commit durations) for another batch to join before it
// syncs. Delivery acknowledgements use it: at one webhook at a time, the
// ack of one event then rides in the commit of the next instead of paying
// its own sync. A store without it is used through Commit.
type DeferredCommitter interface {
	CommitDeferred(ctx context.Context, b *Batch) error
}

// CommitDeferred commits b with s's CommitDeferred if it has one, and with
// Commit otherwise.
func CommitDeferred(ctx context.Context, s Store, b *Batch) error {
	if d, ok := s.(DeferredCommitter); ok {
		return d.CommitDeferred(ctx, b)
	}
	return s.Commit(ctx, b)
}

// Stats describes one pipeline's stored state.
type Stats struct {
	Queued      int       `json:"queued"`
	OldestQueue time.Time `json:"oldest_queued,omitzero"`
	DeadLetters int       `json:"dead_letters"`
}

// Store is the durable state of all pipelines. All methods are safe for
// concurrent use.
type Store interface {
	// Commit applies b atomically and durably: when it returns nil the
	// writes survive kill -9 and power loss (to the extent fsync does).
	// Appended records get their Seq and Stored time filled in b.Ops.
	// Concurrent commits are grouped into one transaction and one sync
	// where possible; a failing batch (ErrExists) never fails another's.
	Commit(ctx context.Context, b *Batch) error

	// Pending returns up to limit queued records of pipeline with Seq >
	// after, in Seq order.
	Pending(ctx context.Context, pipeline string, after uint64, limit int) ([]Record, error)
	// Get returns one queued record.
	Get(ctx context.Context, pipeline string, seq uint64) (Record, error)

	// Value returns the value of key, or ErrNotFound.
	Value(ctx context.Context, pipeline, key string) ([]byte, error)
	// Scan calls fn for each key with the prefix, in key order, until fn
	// returns false. fn runs inside a read transaction and must not call
	// Commit.
	Scan(ctx context.Context, pipeline, prefix string, fn func(key string, value []byte) bool) error

	// DeadLetters returns up to limit dead letters with Seq > after, in order.
	DeadLetters(ctx context.Context, pipeline string, after uint64, limit int) ([]DeadLetter, error)
	// DeadLetter returns one dead letter, or ErrNotFound.
	DeadLetter(ctx context.Context, pipeline string, seq uint64) (DeadLetter, error)
	// PurgeDeadLetters deletes the given dead letters (all if seqs is empty)
	// and returns how many it deleted.
	PurgeDeadLetters(ctx context.Context, pipeline string, seqs ...uint64) (int, error)

	// Stats reports queue depth, oldest queued time and dead-letter count.
	Stats(ctx context.Context, pipeline string) (Stats, error)
	// Pipelines lists the pipelines that have any stored state.
	Pipelines(ctx context.Context) ([]string, error)

	// Close waits for commits in progress and closes the store.
	Close() error
}
