// Package version says which connectord this is: the module version and VCS
// revision from the build info (so `go install …@v1.2.3` names itself), or a
// version set at link time.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Version is set at link time with
// -ldflags "-X github.com/connectord/connectord/engine/version.Version=v1.2.3";
// when empty, the build info decides.
var Version = ""

// Info is what a build knows of itself.
type Info struct {
	Version  string // v1.2.3, or "dev"
	Revision string // VCS commit, "" if unknown
	Time     string // commit time (RFC 3339), "" if unknown
	Modified bool   // built from a tree with uncommitted changes
	Go       string // Go toolchain version
}

var read = sync.OnceValue(func() Info {
	info := Info{Version: Version, Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if v := bi.Main.Version; info.Version == "" && v != "" && v != "(devel)" {
			info.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
})

// Get returns the build's Info.
func Get() Info { return read() }

// String is the short version: "v1.2.3", or "dev-<12 hex>" for a VCS build
// without a module version, or "dev".
func String() string {
	i := Get()
	if i.Version == "dev" && len(i.Revision) >= 12 {
		return "dev-" + i.Revision[:12]
	}
	return i.Version
}

// Long is the one-line description `connectord version` prints.
func Long() string {
	i := Get()
	var b strings.Builder
	b.WriteString("connectord " + String())
	if i.Revision != "" {
		b.WriteString(" (" + i.Revision)
		if i.Modified {
			b.WriteString(", modified")
		}
		if i.Time != "" {
			b.WriteString(", " + i.Time)
		}
		b.WriteString(")")
	}
	b.WriteString(" " + i.Go + " " + runtime.GOOS + "/" + runtime.GOARCH)
	return b.String()
}

// UserAgent is the User-Agent connectord sends.
func UserAgent() string { return "connectord/" + String() }
