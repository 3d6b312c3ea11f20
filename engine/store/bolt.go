package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by Open when another process holds the data file.
// The CLI falls back to the running daemon's admin API.
var ErrLocked = errors.New("data dir is in use by another connectord")

// ErrInvalidOp is returned by Commit for a batch with a malformed operation
// (unknown kind, empty pipeline or key, Seq 0 where one is needed); nothing
// in that batch was applied.
var ErrInvalidOp = errors.New("store: invalid operation")

// Bolt is the embedded Store: a write-ahead log in front of one bbolt file.
// Writes go through a single commit goroutine that groups every batch
// waiting at the time into one log frame and one sync, and keeps what the
// log holds beyond bbolt in an in-memory overlay; checkpoints move it into
// bbolt in large transactions (checkpoint.go). Reads look at the overlay,
// then at bbolt through concurrent read-only transactions.
type Bolt struct {
	db    boltFile
	opts  options
	syncs atomic.Uint64
	// fdatasyncs counts disk syncs: one per log frame, one per new log
	// segment (its directory), and bbolt's per checkpoint (data pages,
	// meta page, once more when it grows the file). fileSize is the bbolt
	// file's size last seen, owned by whoever runs the checkpoint.
	fdatasyncs atomic.Uint64
	fileSize   int64
	ckptCount  atomic.Uint64

	// The overlay, changed only by the commit goroutine under ovMu.
	ovMu sync.RWMutex
	ov   *overlay

	// Owned by the commit goroutine: the current log segment, the frame
	// buffer, the first failed log write (the store then refuses commits),
	// and the checkpoint state.
	log      *segment
	frame    []byte
	stage    *stage // reused group after group (groupStage)
	logErr   error
	ckptBusy bool
	ckptErr  error
	lastCkpt time.Time
	ckptDone chan ckptResult
	closeErr error

	// ckptFailing is the last checkpoint's failure, nil after a success
	// (CheckpointError reads it from any goroutine).
	ckptFailing atomic.Pointer[ckptFailure]

	// testHookCheckpointed runs after a checkpoint's bbolt transaction,
	// before its segments are removed; testHookCheckpoint before it, and
	// its error fails the checkpoint.
	testHookCheckpointed func(gen uint64)
	testHookCheckpoint   func() error
	// commitTime (a moving average) and lastDirect (when the last commit
	// with a direct batch ended) size how long deferred batches wait; both
	// are owned by the commit goroutine.
	commitTime time.Duration
	lastDirect time.Time

	mu      sync.Mutex
	waiting []*request // batches not yet taken by a transaction, in arrival order
	closed  bool

	wake chan struct{} // capacity 1: "waiting grew or closed changed"
	done chan struct{} // closed when the commit goroutine has exited
}

var _ Store = (*Bolt)(nil)

const initialMmapSize = 64 << 20

// Open opens or creates the store file at path (parent directories are
// created, the file is 0600) and takes its exclusive lock, waiting up to the
// lock timeout; a held lock fails with an error wrapping ErrLocked.
func Open(path string, opts ...Option) (*Bolt, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	timeout := o.lockTimeout
	if timeout <= 0 {
		timeout = time.Nanosecond // bbolt treats 0 as "wait forever"
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: timeout,
		// The hashmap freelist stays fast as queue churn fragments the file.
		FreelistType: bolt.FreelistMapType,
		// The freelist is rebuilt by a scan at open instead of being
		// written at every commit: queue churn frees and reuses pages all
		// the time, and writing the list doubled the pages per commit.
		NoFreelistSync: true,
		// Growing past the mapping means a remap, which waits for every
		// reader and costs a grow-fsync; starting with a roomy (virtual,
		// sparse) mapping made 64 emitters 3x faster in BenchmarkAppend.
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	gen, err := recoverLog(db)
	if err == nil {
		var seg *segment
		if seg, err = createSegment(path, gen+1); err == nil {
			return start(db, seg, o), nil
		}
	}
	db.Close()
	return nil, err
}

func start(db *bolt.DB, seg *segment, o options) *Bolt {
	s := &Bolt{
		opts: o, ov: newOverlay(), log: seg, lastCkpt: time.Now(), ckptDone: make(chan ckptResult, 1),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	s.db = boltFile{DB: db, flush: s.flush}
	if fi, err := os.Stat(db.Path()); err == nil {
		s.fileSize = fi.Size()
	}
	go s.run()
	return s
}

// boltFile is the bbolt file under the log. Its View and Update are raw
// access for tests and repair: they first checkpoint everything committed
// into the file, so that it is the whole state and a raw write is not
// hidden by the overlay. The store itself uses the embedded DB directly.
type boltFile struct {
	*bolt.DB
	flush func() error
}

func (f boltFile) View(fn func(*bolt.Tx) error) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.DB.View(fn)
}

func (f boltFile) Update(fn func(*bolt.Tx) error) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.DB.Update(fn)
}

// flush checkpoints everything committed so far into the bbolt file.
func (s *Bolt) flush() error {
	r := newRequest()
	r.flush, r.ops = true, 1
	return s.submit(context.Background(), r)
}

// Checkpoints is the number of checkpoints that have moved the log into
// the bbolt file.
func (s *Bolt) Checkpoints() uint64 { return s.ckptCount.Load() }

// Path is the store file's path.
func (s *Bolt) Path() string { return s.db.Path() }

// Syncs is the number of group commits so far; each is one durable sync
// point (one log frame, one fdatasync).
func (s *Bolt) Syncs() uint64 { return s.syncs.Load() }

// Fdatasyncs is the number of disk syncs the store has made: one per group
// commit, one per new log segment, and per checkpoint bbolt's two (data
// pages, then the meta page) plus one per growth of the file.
func (s *Bolt) Fdatasyncs() uint64 { return s.fdatasyncs.Load() }

// countBoltSyncs records one checkpoint transaction's syncs.
func (s *Bolt) countBoltSyncs() {
	n := uint64(2)
	if fi, err := os.Stat(s.db.Path()); err == nil && fi.Size() != s.fileSize {
		if fi.Size() > s.fileSize {
			n++ // bbolt truncated the file larger and synced it
		}
		s.fileSize = fi.Size()
	}
	s.fdatasyncs.Add(n)
}

// Close commits the batches already handed to Commit, then closes the file.
// Later calls, including Close, return ErrClosed.
func (s *Bolt) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	if err := s.db.DB.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	if s.closeErr != nil {
		return fmt.Errorf("store: close (the log keeps every commit; the next Open replays it): %w", s.closeErr)
	}
	return nil
}

func (s *Bolt) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Bolt) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
