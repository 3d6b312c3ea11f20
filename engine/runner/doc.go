// Package runner is the machine that runs pipelines: it builds them from
// their parsed config (build.go), runs each as a generation — a source, its
// transforms and a deliverer — and swaps generations on reload
// (runtime.go, generation.go), serves webhook sources through one router
// whose routes switch atomically (router.go), commits what a source emits
// (emit.go: transforms, then one atomic store commit with the source's
// state, identify.go: eventId and ordering key), and delivers the queue
// (delivery.go: the per-pipeline scheduler; attempt.go: one Deliver call and
// what its outcome does to the queue; keyqueue.go: per-key order).
//
// Plugins never import it: they see only the engine package's Host. The
// application (cmd/connectord) assembles a Runtime with a store and serves
// its Router; runnertest runs one source on it for tests.
package runner
