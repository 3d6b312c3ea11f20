// Command connectord runs event-sync pipelines: it watches SaaS APIs
// (Intercom) by polling or webhooks, normalises each change with jq, filters
// it with expr, stores it durably and delivers it, signed, to an HTTP
// callback. See README.md.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes, as in CONTRACT.md.
const (
	exitOK      = 0
	exitInvalid = 1 // invalid config, failed tests, runtime failure
	exitUsage   = 2
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"demo", "run the shipped pipelines against a built-in Intercom simulator", demoCmd},
		{"run", "run every pipeline in --config", runCmd},
		{"validate", "check pipeline files; print every error as FILE:LINE:COL", validateCmd},
		{"test", "run golden-file pipeline tests", testCmd},
		{"status", "show the running daemon's pipelines (from --admin)", statusCmd},
		{"dlq", "list, show, replay or purge dead letters", dlqCmd},
		{"simulate", "serve a simulated Intercom API (simulate intercom)", simulateCmd},
		{"import", "convert an SAP Open Connectors instance (JSON) into a pipelines file", importCmd},
		{"auth", "run the Intercom OAuth flow and store the token (auth intercom)", authCmd},
		{"version", "print the version", versionCmd},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "connectord: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: connectord <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'connectord <command> -h' for a command's flags.")
}
