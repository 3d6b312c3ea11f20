package store

import "context"

// Watcher is implemented by stores that other processes write as well
// (several replicas on one NATS stream). A store that only this process
// writes (bbolt) has no need of it: every change comes through its own
// Commit.
type Watcher interface {
	// Watch reports changes to pipeline's queue made by other writers
	// (appends, updates, acks) once this store's reads show them; it may
	// report some of this store's own too. The channel holds at most one
	// value: the lowest Seq changed since it was last read, so a reader
	// that re-reads the queue from there misses nothing. stop ends the
	// watch; call it once.
	Watch(pipeline string) (changes <-chan uint64, stop func())
	// Sync returns once this store's reads show every write that was
	// durable when Sync was called, whoever made it.
	Sync(ctx context.Context) error
	// Stable is the Seq up to which this store's reads show every write,
	// whoever made it. A record above it may be this store's own, visible
	// at once, while another writer's with a lower Seq is not yet: a
	// reader that delivers in Seq order stops at Stable.
	Stable() uint64
}
