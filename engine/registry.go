package engine

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
)

// BuildContext is what a component's constructor may use. Constructors
// validate and compile (jq, expr) but do no I/O beyond reading files the
// config references: they run for `connectord validate` too.
type BuildContext struct {
	Pipeline string // pipeline name
	File     string // pipeline file; relative paths resolve against its directory
	// Logger is the pipeline's logger; Clock is its clock. A running
	// component keeps both from here: the Host does not repeat them.
	Logger *slog.Logger
	Clock  Clock
	// UserAgent is what outbound HTTP requests send as User-Agent.
	UserAgent string
}

// SourceConfig is a source's decoded options; NewSource builds the source.
// Return *config.FieldError values to point errors at a field.
type SourceConfig interface {
	NewSource(BuildContext) (Source, error)
}

// TransformConfig is a transform's decoded options.
type TransformConfig interface {
	NewTransform(BuildContext) (Transform, error)
}

// SinkConfig is a sink's decoded options.
type SinkConfig interface {
	NewSink(BuildContext) (Sink, error)
}

// FileReferrer is a component config that reads files besides the pipeline
// file (jq_file); hot reload watches them and a change rebuilds the pipeline.
type FileReferrer interface {
	ReferencedFiles(BuildContext) []string
}

// registry maps a role (the config interface's type) to its kinds.
var registry = struct {
	sync.RWMutex
	kinds map[string]map[string]any // role → kind → func() C
}{kinds: map[string]map[string]any{}}

// role names the role of config type C, or "" if C is not one.
func role[C any]() string {
	switch any((*C)(nil)).(type) {
	case *SourceConfig:
		return "source"
	case *TransformConfig:
		return "transform"
	case *SinkConfig:
		return "sink"
	}
	return ""
}

// Register makes a component kind available to pipeline files. C is the
// role: SourceConfig, TransformConfig or SinkConfig. newConfig returns a
// pointer to a fresh options struct with its defaults set, which the config
// decoder fills. Call it from init(); a duplicate kind panics.
//
//	func init() {
//		engine.Register("jq", func() engine.TransformConfig { return NewOptions() })
//	}
func Register[C any](kind string, newConfig func() C) {
	r := role[C]()
	if r == "" {
		panic(fmt.Sprintf("engine: Register(%q): %T is not a component config role", kind, newConfig))
	}
	registry.Lock()
	defer registry.Unlock()
	m := registry.kinds[r]
	if m == nil {
		m = map[string]any{}
		registry.kinds[r] = m
	}
	if _, dup := m[kind]; dup {
		panic(fmt.Sprintf("engine: %s %q registered twice", r, kind))
	}
	m[kind] = newConfig
}

// NewConfig returns a fresh options struct, defaults set, for the kind of
// role C, or false if no such kind is registered.
func NewConfig[C any](kind string) (C, bool) {
	registry.RLock()
	f, ok := registry.kinds[role[C]()][kind].(func() C)
	registry.RUnlock()
	if !ok {
		var zero C
		return zero, false
	}
	return f(), true
}

// Kinds lists the registered kinds of role C, sorted.
func Kinds[C any]() []string {
	registry.RLock()
	defer registry.RUnlock()
	m := registry.kinds[role[C]()]
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WithDefaults returns bc with a Logger that discards and the system clock
// where they are unset, so a constructor called outside the runner (a
// test, a tool) can keep them without nil checks.
func (bc BuildContext) WithDefaults() BuildContext {
	if bc.Logger == nil {
		bc.Logger = slog.New(slog.DiscardHandler)
	}
	if bc.Clock == nil {
		bc.Clock = SystemClock{}
	}
	return bc
}
