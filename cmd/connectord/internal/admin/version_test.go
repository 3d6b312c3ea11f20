package admin_test

import (
	"runtime"

	"github.com/connectord/connectord/engine/version"
)

func goVersion() string    { return runtime.Version() }
func versionLabel() string { return version.String() }
