// Package cluster is how several connectord replicas share work without
// doing any piece of it twice: leases give one replica at a time a named
// piece of work (a poller's resource, a delivery partition), and Assign
// spreads a pipeline's delivery partitions over the live replicas.
//
// A lease is held for a TTL and must be renewed well before it ends. The
// holder's own rule is stricter than the store's: it stops starting work
// once TTL minus a safety margin has passed since the start of its last
// successful renew (Held.Valid), so a replica that was paused or cut off
// stops before another can have taken the lease over. The deposed holder's
// writes are fenced as well: the store rejects a batch whose expected
// sequence moved on.
//
// Coordinator is the seam: Local serves one process (and tests with
// several in-process replicas); the JetStream store provides one on a KV
// bucket with compare-and-set.
package cluster
