// Package pipelines holds the shipped pipeline files and their golden
// tests. FS is the same files built into the binary, so an installed
// `connectord demo` works from any directory.
package pipelines

import "embed"

// FS holds the shipped *.yaml pipeline files, at its root.
//
//go:embed *.yaml
var FS embed.FS
