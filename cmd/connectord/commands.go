package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/connectord/connectord/pipelines"
)

// command is one subcommand and its help: what it does in one line, how it
// is called, the environment it reads and an example. `connectord help
// CMD`, `CMD --help` and `CMD -h` print the help with the command's flags.
type command struct {
	name    string
	summary string
	usage   string
	details string   // more lines after the usage, if any
	env     []string // "NAME  what it is for"
	example string
	run     func(args []string, stdout, stderr io.Writer) int
}

const (
	envAdminToken = "CONNECTORD_ADMIN_TOKEN  admin API token: every endpoint but /healthz needs Authorization: Bearer <token>"
	envGOGC       = "GOGC  Go's GC target; connectord sets 400 when unset (its live heap is small, the backlog is on disk)"
)

func commands() []command {
	return []command{
		{name: "demo", summary: "run the shipped pipelines against a built-in Intercom simulator",
			usage:   "connectord demo [--config DIR] [--every D] [--poll D] [--duration D] [--admin ADDR] [--cluster N --store nats://… [--lease-ttl D] [--restart-after D]]",
			details: "Without --config it uses ./pipelines when that directory exists, else a copy of the shipped\npipelines (built into the binary) in a temporary directory, whose path it prints.",
			env:     []string{"(the pipelines' variables are set by the demo, pointing at its simulator and receiver)", envGOGC},
			example: "connectord demo --duration 30s", run: demoCmd},
		{name: "run", summary: "run every pipeline in --config",
			usage: "connectord run [--config DIR|FILE] [--listen ADDR] [--admin ADDR] [--data DIR] [--log-level L] [--log-format text|json] [--drain-timeout D] [--watch=true] [--store bolt|nats://…] [--replica-id ID] [--lease-ttl D]",
			env: append([]string{envAdminToken,
				"CONNECTORD_OC_USER_SECRET, CONNECTORD_OC_ORG_SECRET  enable POST /elements/api-v2/instances on --admin",
				envGOGC,
				"CONNECTORD_CPUPROFILE  write a CPU profile of the whole run to this file",
				"CONNECTORD_MEMPROFILE  write an allocation profile of the whole run to this file at exit"},
				pipelineEnv()...),
			example: "INTERCOM_TOKEN=... CALLBACK_URL=https://example.com/events connectord run --config pipelines --listen 0.0.0.0:8080 --data /var/lib/connectord",
			run:     runCmd},
		{name: "validate", summary: "check pipeline files; print every error as FILE:LINE:COL",
			usage:   "connectord validate [--config DIR|FILE] [--data DIR] [--strict]",
			details: "Exit 0 when every pipeline builds, 1 otherwise (or, with --strict, when a pipeline uses a\nsimulator default: a ${VAR:-default} that points at this machine or supplies a credential).",
			env:     pipelineEnv(),
			example: "connectord validate --config pipelines --strict", run: validateCmd},
		{name: "test", summary: "run golden-file pipeline tests",
			usage:   "connectord test [--config DIR|FILE] [--testdata DIR] [--update] [--run PATTERN] [-v]",
			details: "Runs the cases under --testdata/<pipeline>/<case>/ of the pipelines in --config; cases of\nother pipelines are skipped.",
			env:     []string{"(none: a case sets its own variables in case.yaml)"},
			example: "connectord test --config pipelines --testdata testdata --run webhooks -v", run: testCmd},
		{name: "status", summary: "show the running daemon's pipelines (from --admin)",
			usage: "connectord status [--admin ADDR] [--json] [--timeout D]",
			env:   []string{envAdminToken}, example: "connectord status --admin 127.0.0.1:9090", run: statusCmd},
		{name: "dlq", summary: "list, show, replay or purge dead letters",
			usage: "connectord dlq list|show|replay|purge|purge-queue [--pipeline P] [--id ID ... | --all] [--data DIR] [--admin ADDR]",
			details: "  list         dead letters with their last status and error (of every pipeline\n" +
				"               without --pipeline; the other actions need it)\n" +
				"  show         one dead letter in full (--id N)\n" +
				"  replay       put dead letters back on the queue; they keep their eventId and\n" +
				"               are signed with the current keys when delivered (--id ID | --all)\n" +
				"  purge        delete dead letters for good (--id ID | --all)\n" +
				"  purge-queue  delete the queued events of a pipeline removed from the config\n" +
				"               (they stay on disk, listed as \"removed\" in status, until then)\n" +
				"--id takes a dead letter's number or an eventId, and may repeat. With --admin the\n" +
				"command goes through that daemon's admin API (no local --data needed); without it,\n" +
				"it opens --data, or goes through the daemon holding it (127.0.0.1:9090). An unknown\n" +
				"pipeline is an error (exit 1).",
			env:     []string{envAdminToken + " (when going through a running daemon)"},
			example: "connectord dlq replay --pipeline intercom-webhooks --all", run: dlqCmd},
		{name: "simulate", summary: "serve a simulated Intercom API (simulate intercom)",
			usage:   "connectord simulate intercom [--listen ADDR] [--records N] [--every D] [--webhook-url URL] [--fail-rate F --fail-status 500|429] [--rate-limit N]",
			env:     []string{"(none)"},
			example: "connectord simulate intercom --listen 127.0.0.1:8700 --webhook-url http://127.0.0.1:8080/webhooks/intercom", run: simulateCmd},
		{name: "import", summary: "convert an SAP Open Connectors instance (JSON) into a pipelines file",
			usage:   "connectord import FILE.json [--out DIR] [--name-prefix P] [--token-env] [--force]",
			details: "--out is created when it does not exist. Secrets become ${VAR} references; the\nvariables to set are printed.",
			env:     []string{"(none)"},
			example: "connectord import instance.json --out pipelines --name-prefix acme", run: importCmd},
		{name: "auth", summary: "run the Intercom OAuth flow and store the token (auth intercom)",
			usage:   "connectord auth intercom --client-id ID --client-secret-env VAR --name NAME [--data DIR] [--port N] [--pipeline P,…]",
			env:     []string{"the variable named by --client-secret-env  the Intercom app's client secret"},
			example: "INTERCOM_CLIENT_SECRET=... connectord auth intercom --client-id abc --client-secret-env INTERCOM_CLIENT_SECRET --name acme", run: authCmd},
		{name: "schema", summary: "print the JSON Schema of pipeline files (for editors)",
			usage:   "connectord schema [--out FILE]",
			details: "Point an editor at it with a first line # yaml-language-server: $schema=<path or URL>.",
			env:     []string{"(none)"},
			example: "connectord schema --out connectord.schema.json", run: schemaCmd},
		{name: "completion", summary: "print a shell completion script (bash, zsh or fish)",
			usage:   "connectord completion bash|zsh|fish",
			env:     []string{"(none)"},
			example: "connectord completion bash > /etc/bash_completion.d/connectord", run: completionCmd},
		{name: "healthcheck", summary: "exit 0 when a daemon's /healthz answers 200 (for containers)",
			usage:   "connectord healthcheck [--admin ADDR] [--timeout D]",
			env:     []string{"(none: /healthz needs no token)"},
			example: "connectord healthcheck --admin 127.0.0.1:9090", run: healthcheckCmd},
		{name: "version", summary: "print the version, VCS revision and Go version",
			usage: "connectord version   (or connectord --version)", env: []string{"(none)"},
			example: "connectord version", run: versionCmd},
	}
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-)?`)

// pipelineEnv lists the variables the shipped pipelines read, from the
// copy built into the binary, so the help follows the files.
func pipelineEnv() []string {
	var names []string
	files, _ := fs.Glob(pipelines.FS, "*.yaml")
	for _, f := range files {
		b, _ := fs.ReadFile(pipelines.FS, f)
		for line := range strings.Lines(string(b)) {
			if i := strings.Index(line, "#"); i == 0 || i > 0 && line[i-1] == ' ' {
				line = line[:i] // a comment (the shipped files quote no "#")
			}
			for _, m := range varRef.FindAllStringSubmatch(line, -1) {
				if !slices.Contains(names, m[1]) {
					names = append(names, m[1])
				}
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return []string{strings.Join(names, ", ") + "  the shipped pipelines' ${VAR}s (any ${VAR} in your files is read too)"}
}

// writeHelp prints c's help with the flags of fs.
func writeHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "connectord %s: %s\n\nusage: %s\n", c.name, c.summary, c.usage)
	if c.details != "" {
		fmt.Fprintf(w, "\n%s\n", c.details)
	}
	if fs != nil {
		has := false
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(w, "\nflags:")
			out := fs.Output()
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(out)
		}
	}
	fmt.Fprintln(w, "\nenvironment:")
	for _, e := range c.env {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "\nexample:\n  %s\n", c.example)
}
