package main

import (
	"fmt"
	"io"
	"os"

	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
)

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", stderr)
	dir := fs.String("config", "./pipelines", "directory of pipeline files, or one file")
	data := fs.String("data", "./data", "store directory: secrets of pipelines created through /instances are read from it")
	strict := fs.Bool("strict", false, "fail when a pipeline uses a simulator default (a ${VAR:-default} on this machine or holding a credential)")
	storeFl := addStoreFlags(fs)
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	spec := storeFl.spec(fs, *data)
	specs, built, errs := loadAndBuild(*dir, soc.WithSecrets(*data, os.LookupEnv), runner.BuildOptions{})
	if len(errs) > 0 {
		u := errs.Unique()
		fmt.Fprintln(stderr, u.Error())
		fmt.Fprintf(stderr, "%d error(s)\n", len(u))
		return exitInvalid
	}
	for _, b := range built {
		closeBuilt(b)
	}
	if len(built) == 0 {
		fmt.Fprintf(stderr, "%s: no pipelines: no *.yaml or *.yml file there defines one\n", *dir)
		return exitInvalid
	}
	if found := simulatorDefaults(specs); len(found) > 0 {
		w, what := stdout, "warning"
		if *strict {
			w, what = stderr, "error"
		}
		printSimDefaults(w, found)
		fmt.Fprintf(w, "%s: %d simulator default(s): set these variables to run against a real workspace\n", what, len(found))
		if *strict {
			return exitInvalid
		}
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
func loadAndBuild(dir string, env config.Env, opts runner.BuildOptions) ([]config.Pipeline, []*runner.Built, config.Errors) {
	specs, errs := config.Load(dir, env)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	built, errs := runner.Build(specs, opts)
	return specs, built, errs
}

func closeBuilt(b *runner.Built) {
	for _, c := range []any{b.Source, b.Sink} {
		if cl, ok := c.(io.Closer); ok {
			_ = cl.Close()
		}
	}
}
