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
	Logger   *slog.Logger
	Clock    Clock
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

var registry = struct {
	sync.RWMutex
	sources    map[string]func() SourceConfig
	transforms map[string]func() TransformConfig
	sinks      map[string]func() SinkConfig
}{
	sources:    map[string]func() SourceConfig{},
	transforms: map[string]func() TransformConfig{},
	sinks:      map[string]func() SinkConfig{},
}

// RegisterSource makes a source kind available to pipeline files. newConfig
// returns a pointer to a fresh options struct with its defaults set, which the
// config decoder fills. Call it from init(); a duplicate kind panics.
func RegisterSource(kind string, newConfig func() SourceConfig) {
	register(registry.sources, "source", kind, newConfig)
}

// RegisterTransform makes a transform kind available.
func RegisterTransform(kind string, newConfig func() TransformConfig) {
	register(registry.transforms, "transform", kind, newConfig)
}

// RegisterSink makes a sink kind available.
func RegisterSink(kind string, newConfig func() SinkConfig) {
	register(registry.sinks, "sink", kind, newConfig)
}

func register[T any](m map[string]T, role, kind string, v T) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := m[kind]; dup {
		panic(fmt.Sprintf("engine: %s %q registered twice", role, kind))
	}
	m[kind] = v
}

func lookup[T any](m map[string]T, kind string) (T, bool) {
	registry.RLock()
	defer registry.RUnlock()
	v, ok := m[kind]
	return v, ok
}

func kinds[T any](m map[string]T) []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SourceKinds lists registered source kinds.
func SourceKinds() []string { return kinds(registry.sources) }

// TransformKinds lists registered transform kinds.
func TransformKinds() []string { return kinds(registry.transforms) }

// SinkKinds lists registered sink kinds.
func SinkKinds() []string { return kinds(registry.sinks) }
