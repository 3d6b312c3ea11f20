package main

import (
	"fmt"
	"io"

	"github.com/connectord/connectord/engine/version"
)

// versionCmd prints version.Long(): the module version (set by `go install
// …@v1.2.3`), the VCS revision and time when the build recorded them, and
// the Go toolchain and platform.
func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr)
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	fmt.Fprintln(stdout, version.Long())
	return exitOK
}
