// Package engine is the contract between connectord and its components: the
// role interfaces that sources, transforms and sinks implement, the registry
// they join from init(), and the vocabulary they share (Event, Meta,
// delivery errors and policy). It is what a plugin author imports, and it
// imports nothing of connectord's; the machine that runs pipelines is
// engine/runner, which plugins never import.
//
// The flow of one pipeline is
//
//	source ─Emit→ transforms → durable queue (engine/store) → delivery → sink
//
// # Component lifecycle
//
// Every component — source, transform or sink — goes through the same steps,
// and only these:
//
//  1. Construct with defaults. The registry's newConfig (see Register)
//     returns a fresh options struct with every default set; nothing is
//     read or opened.
//  2. Strict decode. engine/config fills the struct from the pipeline's
//     YAML node: unknown keys, wrong types and bad durations are errors at
//     FILE:LINE:COL, and ${VAR} references are resolved in the values.
//  3. New: validate and compile. NewSource, NewTransform or NewSink checks
//     the options (returning *config.FieldError to point at a field),
//     compiles what can be compiled (jq, expr, URL templates) and keeps
//     the BuildContext's Logger and Clock. It does no I/O besides reading
//     files the options name (FileReferrer), because `connectord validate`
//     runs it too, and it must be cheap: a reload builds every changed
//     pipeline before touching the running ones.
//  4. Run. For a source, Run(ctx, host) in a goroutine of its own (and,
//     for an HTTPSource, Handler(host) mounted at Path before Run); a
//     source hands events to Host.Emit, which returns once they are
//     durably stored — its acknowledgement and its back-pressure. A
//     Transform's Apply and a Sink's Deliver are called concurrently by the
//     runner for as long as the pipeline runs.
//  5. Close. When its generation stops, a component that implements io.Closer
//     releases what it holds (connections, files). Run's ctx is cancelled
//     first; Close is called after Run returned and after every Deliver
//     in flight finished or was abandoned at the drain deadline.
//
// # What a reload does
//
// A reload re-reads the files and builds (steps 1–3) every pipeline; its
// hash covers the effective configuration — its YAML, the ${VAR} values it
// uses and the content of files it references. If any pipeline fails to
// build, the reload reports every error and changes nothing: running
// generations are untouched. A pipeline whose hash is unchanged keeps
// running (the new build is closed unused). For a changed one the runner
// mounts the new generation's webhook handler first (the route switches
// atomically: no request sees a 404; requests inside the old handler finish
// there), then stops the old source (a poller never polls twice at once),
// drains the old deliveries with a deadline (so per-object order holds),
// closes the old components, and only then runs the new source and
// deliveries. A removed pipeline stops taking input, drains, and leaves its
// queue in the store. State is keyed by pipeline name, so a new generation
// continues the old one's cursors, queue, retry schedule and dead letters.
package engine
