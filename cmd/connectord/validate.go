package main

import (
	"fmt"
	"io"
	"os"

	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
)

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", stderr)
	dir := fs.String("config", "./pipelines", "directory of pipeline files")
	data := fs.String("data", "./data", "store directory: secrets of pipelines created through /instances are read from it")
	storeFl := addStoreFlags(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	spec := storeFl.spec(fs, *data)
	built, errs := loadAndBuild(*dir, soc.WithSecrets(*data, os.LookupEnv), runner.BuildOptions{})
	if len(errs) > 0 {
		fmt.Fprintln(stderr, errs.Error())
		fmt.Fprintf(stderr, "%d error(s)\n", len(errs))
		return exitInvalid
	}
	for _, b := range built {
		closeBuilt(b)
	}
	fmt.Fprintf(stdout, "%s: %d pipeline(s) OK\n", *dir, len(built))
	if storeFl.explicit && !spec.IsBolt() {
		// A NATS store is checked too: reachable, server version, stream
		// settings (see natsstore's start-up checks).
		line, err := checkStore(spec)
		if err != nil {
			fmt.Fprintln(stderr, "connectord validate:", err)
			return exitInvalid
		}
		fmt.Fprintln(stdout, line)
	}
	return exitOK
}

// loadAndBuild reads and builds every pipeline in dir, collecting all
// errors.
func loadAndBuild(dir string, env config.Env, opts runner.BuildOptions) ([]*runner.Built, config.Errors) {
	specs, errs := config.Load(dir, env)
	if len(errs) > 0 {
		return nil, errs
	}
	return runner.Build(specs, opts)
}

func closeBuilt(b *runner.Built) {
	for _, c := range []any{b.Source, b.Sink} {
		if cl, ok := c.(engine.Closer); ok {
			_ = cl.Close()
		}
	}
}
