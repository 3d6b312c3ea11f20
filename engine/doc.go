// Package engine is connectord's core: the role interfaces that sources,
// transforms and sinks implement, the registry they join from init(), and the
// runtime that wires them into pipelines.
//
// The flow of one pipeline is
//
//	source ─emit→ transforms → durable queue (store) → delivery workers → sink
//
// A source's emit call returns only once the events it produced are durably
// committed, so a webhook may answer 2xx and a poller may move its cursor as
// soon as emit returns. Delivery runs separately and removes an event from the
// queue only after the sink accepted it; failures are retried on a persisted
// schedule and finally dead-lettered, never dropped.
package engine
