package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newFlags returns a flag set that reports usage errors instead of exiting.
// Help is printed by parse, on stdout.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("connectord "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

// parse parses args; it returns an exit code and false when the command
// should stop: help requested (printed on stdout, exit 0) or a usage error
// (on stderr, exit 2).
func parse(fs *flag.FlagSet, stdout io.Writer, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs)
			return exitOK, false
		}
		usageHint(fs)
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		usageHint(fs)
		return exitUsage, false
	}
	return 0, true
}

// commandOf is the top-level command a flag set belongs to ("dlq" for
// "connectord dlq list").
func commandOf(fs *flag.FlagSet) string {
	f := strings.Fields(fs.Name())
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func printHelp(w io.Writer, fs *flag.FlagSet) {
	if c, ok := lookup(commandOf(fs)); ok {
		writeHelp(w, c, fs)
		return
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func usageHint(fs *flag.FlagSet) {
	if c, ok := lookup(commandOf(fs)); ok {
		fmt.Fprintf(fs.Output(), "usage: %s\nRun 'connectord help %s' for its flags, environment and an example.\n", c.usage, c.name)
	}
}

// isHelp says whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h", "help":
		return true
	}
	return false
}

// newLogger builds the structured logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", format)
	}
}
