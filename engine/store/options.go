package store

import "time"

// Option configures Open.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	maxGroup    int
	deferDelay  time.Duration
	now         func() time.Time
	// Checkpoint triggers (checkpoint.go).
	ckptMem, ckptLog int64
	ckptEvery        time.Duration
	// direct skips the log: each group is one bbolt transaction (the
	// benchmarks' baseline).
	direct bool
}

// The checkpoint triggers' defaults; variables so that the crash test's
// child can make checkpoints frequent.
var (
	defaultCkptMem   int64 = 2 << 20
	defaultCkptLog   int64 = 64 << 20
	defaultCkptEvery       = 5 * time.Second
)

// maxDefer caps the adaptive wait of a deferred batch.
const maxDefer = 20 * time.Millisecond

func defaultOptions() options {
	return options{
		lockTimeout: time.Second, maxGroup: 1024, now: time.Now,
		ckptMem: defaultCkptMem, ckptLog: defaultCkptLog, ckptEvery: defaultCkptEvery,
	}
}

// WithLockTimeout sets how long Open waits for the data file's lock before
// it fails with ErrLocked. The default is one second; a zero or negative
// value tries once and does not wait.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// WithMaxGroup caps how many operations one group commit takes from the
// queue of waiting batches (default 1024). A single larger batch still
// commits, alone.
func WithMaxGroup(ops int) Option {
	return func(o *options) {
		if ops > 0 {
			o.maxGroup = ops
		}
	}
}

// WithClock sets the time source for Record.Stored (tests fix it).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithDeferDelay fixes how long a deferred batch (CommitDeferred) may wait
// for a direct commit to share; the default (0) adapts it to the disk:
// twice the recent commit time plus 1ms, at most 20ms.
func WithDeferDelay(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.deferDelay = d
		}
	}
}

// withCheckpoints sets the checkpoint triggers (tests).
func withCheckpoints(mem, log int64, every time.Duration) Option {
	return func(o *options) {
		o.ckptMem, o.ckptLog = mem, log
		if every > 0 {
			o.ckptEvery = every
		}
	}
}

// withDirectBolt makes every group commit one bbolt transaction, bypassing
// the log, as the store did before it: benchmarks compare the two.
func withDirectBolt() Option {
	return func(o *options) { o.direct = true }
}
