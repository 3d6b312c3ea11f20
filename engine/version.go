package engine

import "runtime/debug"

// Version is connectord's version, set at link time with
// -ldflags "-X github.com/connectord/connectord/engine.Version=v1.2.3";
// otherwise it is the module version or VCS revision from the build info.
var Version = ""

func init() {
	if Version != "" {
		return
	}
	Version = "dev"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		Version = v
		return
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			Version = "dev-" + s.Value[:12]
		}
	}
}

// UserAgent is the User-Agent connectord sends.
func UserAgent() string { return "connectord/" + Version }
