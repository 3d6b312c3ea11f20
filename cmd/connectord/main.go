// Command connectord runs event-sync pipelines: it watches SaaS APIs
// (Intercom) by polling or webhooks, normalises each change with jq, filters
// it with expr, stores it durably and delivers it, signed, to an HTTP
// callback. See README.md.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/connectord/connectord/engine/version"
)

// Exit codes, as in CONTRACT.md.
const (
	exitOK      = 0
	exitInvalid = 1 // invalid config, failed tests, runtime failure
	exitUsage   = 2
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "help":
		return helpCmd(args[1:], stdout, stderr)
	case "--version", "-version", "-v":
		fmt.Fprintln(stdout, version.Long())
		return exitOK
	}
	if c, ok := lookup(args[0]); ok {
		return c.run(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "connectord: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

// helpCmd is `connectord help [COMMAND]`: the same text as COMMAND --help.
func helpCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "connectord help: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run([]string{"--help"}, stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "connectord: event-sync pipelines for SaaS APIs (Intercom), one binary, YAML that hot-reloads.")
	fmt.Fprintln(w, "\nusage: connectord <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'connectord help <command>' (or <command> --help) for its flags, environment and an example;")
	fmt.Fprintln(w, "'connectord --version' prints the version.")
}
