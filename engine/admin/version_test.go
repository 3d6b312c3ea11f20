package admin_test

import (
	"runtime"

	"github.com/connectord/connectord/engine"
)

func goVersion() string    { return runtime.Version() }
func versionLabel() string { return engine.Version }
