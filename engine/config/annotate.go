package config

import (
	"runtime"
	"sync"
	"weak"

	"gopkg.in/yaml.v3"
)

// scalarNote is what Load learns about a scalar node that the node itself
// cannot carry: whether its value came from the environment (so no error may
// echo it) and, for block scalars, the column where the content starts (so
// Text.PosAt is exact). Only the raw file text knows the latter.
type scalarNote struct {
	fromEnv bool
	indent  int
	// defaulted names the variables whose ${VAR:-default} default was used
	// in the value (comma-separated), for Pipeline.Defaults.
	defaulted string
}

// notes maps nodes to their scalarNote. Decode is called with a bare
// *yaml.Node, so the note has to live beside it; weak keys let a node and its
// note be collected together once the config that held it is dropped.
var notes = struct {
	sync.Mutex
	m map[weak.Pointer[yaml.Node]]scalarNote
}{m: map[weak.Pointer[yaml.Node]]scalarNote{}}

func setNote(n *yaml.Node, note scalarNote) {
	if note == (scalarNote{}) {
		return
	}
	key := weak.Make(n)
	notes.Lock()
	_, had := notes.m[key]
	notes.m[key] = note
	notes.Unlock()
	if !had {
		runtime.AddCleanup(n, forgetNote, key)
	}
}

func forgetNote(key weak.Pointer[yaml.Node]) {
	notes.Lock()
	delete(notes.m, key)
	notes.Unlock()
}

func noteOf(n *yaml.Node) scalarNote {
	if n == nil {
		return scalarNote{}
	}
	notes.Lock()
	defer notes.Unlock()
	return notes.m[weak.Make(n)]
}

// FromEnv reports whether the scalar n got its value (or part of it) from an
// environment variable during Load. Such values are never shown in errors.
func FromEnv(n *yaml.Node) bool { return noteOf(n).fromEnv }
