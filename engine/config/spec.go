package config

import (
	"gopkg.in/yaml.v3"
)

// Pipeline is one pipeline as written in a file, before its components are
// built.
type Pipeline struct {
	Name        string
	NamePos     Position // the name's value
	Description string
	Pos         Position // the pipeline's mapping
	File        string
	// Source and Sink are exactly one component each; Transforms in order.
	Source     Component
	Transforms []Component
	Sink       Component
	// Queue bounds the pipeline's durable queue (max_queue_events,
	// max_queue_bytes, when_full); defaults apply to unset fields.
	Queue QueueLimits
	// Delivery holds delivery options (delivery.partitions).
	Delivery Delivery
	// Hash identifies the pipeline's effective config (after interpolation
	// and merge keys; the engine adds referenced files such as jq_file).
	// Reload leaves a pipeline alone while its hash is unchanged.
	Hash string
	// Defaults lists every ${VAR:-default} in the pipeline whose default
	// was used because VAR was unset or empty, in file order: what an
	// operator forgot to set, when the defaults are a demo's.
	Defaults []Default
}

// Default is one ${VAR:-default} that took its default.
type Default struct {
	Var   string   // the variable's name
	Value string   // the whole scalar's value after interpolation
	Pos   Position // the scalar
}

// Component is one source, transform or sink: `kind: {options}`.
type Component struct {
	Kind string   // registered name, e.g. "intercom_poller"
	Pos  Position // position of the kind key
	// Node is the options node, variables interpolated and aliases and
	// merge keys resolved; a null scalar when nothing was written. Decode
	// it with Decode.
	Node *yaml.Node
}

// Shorthand is implemented by options structs that may be written as one
// scalar: `jq: '.foo'` means `jq: {program: '.foo'}` when the jq options
// struct's ShorthandField returns "program". Decode treats a scalar node as a
// one-key mapping of that field, keeping the scalar's position.
type Shorthand interface {
	ShorthandField() string
}

// Default queue limits: large enough for a long receiver outage at webhook
// rates, small enough that a full queue cannot fill a small disk.
const (
	DefaultMaxQueueEvents = 1_000_000
	DefaultMaxQueueBytes  = 1 << 30 // 1 GiB of event bodies
)

// QueueLimits are a pipeline's queue bounds. When the queue is full the
// source is refused (WhenFull "reject", the only mode: nothing acknowledged
// is ever dropped): a webhook answers 503 with Retry-After, a poller keeps
// its cursor and tries again on its next cycle.
type QueueLimits struct {
	MaxEvents int64
	MaxBytes  int64
	WhenFull  string
}
