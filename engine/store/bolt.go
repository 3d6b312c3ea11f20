package store

import (
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

// Bolt is the embedded Store, one bbolt file. Writes go through a single
// commit goroutine that groups every batch waiting at the time into one
// transaction and one sync; reads are concurrent read-only transactions.
type Bolt struct {
	db    *bolt.DB
	opts  options
	syncs atomic.Uint64
	// fdatasyncs counts the disk syncs of committed transactions: bbolt
	// syncs the data pages, then the meta page, and once more when it
	// grows the file. fileSize is the size last seen, owned by the commit
	// goroutine.
	fdatasyncs atomic.Uint64
	fileSize   int64
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
	s := &Bolt{db: db, opts: o, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if fi, err := os.Stat(path); err == nil {
		s.fileSize = fi.Size()
	}
	go s.run()
	return s, nil
}

// Path is the store file's path.
func (s *Bolt) Path() string { return s.db.Path() }

// Syncs is the number of write transactions committed so far; each is one
// durable sync point (bbolt fsyncs data, then meta page, per transaction).
func (s *Bolt) Syncs() uint64 { return s.syncs.Load() }

// Fdatasyncs is the number of disk syncs the committed write transactions
// cost: two per transaction (data pages, then the meta page) plus one per
// growth of the file.
func (s *Bolt) Fdatasyncs() uint64 { return s.fdatasyncs.Load() }

// countSyncs records one committed transaction's syncs; it runs on the
// commit goroutine.
func (s *Bolt) countSyncs() {
	s.syncs.Add(1)
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
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
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
