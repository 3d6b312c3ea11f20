package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectord/connectord/cmd/connectord/internal/soc"
)

// importCmd converts an SAP Open Connectors POST /instances body into a
// pipelines file. It never writes or prints a secret: secrets become ${VAR}
// references and only the variable names are printed.
func importCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("import", stderr)
	out := fs.String("out", "./pipelines", "directory to write the pipelines file into")
	prefix := fs.String("name-prefix", "", "prefix for the pipeline names, file name and variables")
	tokenEnv := fs.Bool("token-env", false, "read the Intercom token from ${<NAME>_INTERCOM_TOKEN} instead of a stored token (token_ref)")
	force := fs.Bool("force", false, "overwrite an existing file")
	file, rest := splitPositional(args)
	if file == "" && len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(stdout, fs)
				return exitOK
			}
			usageHint(fs)
			return exitUsage
		}
		if fs.NArg() == 1 {
			file, rest = fs.Arg(0), nil
		}
	}
	if code, ok := parse(fs, stdout, rest); !ok {
		return code
	}
	if file == "" {
		usageHint(fs)
		return exitUsage
	}
	body, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, "connectord import:", err)
		return exitInvalid
	}
	req, err := soc.ParseRequest(body)
	if err != nil {
		fmt.Fprintf(stderr, "connectord import: %s: %v\n", file, err)
		return exitInvalid
	}
	plan, err := soc.Convert(req, soc.Options{NamePrefix: *prefix, TokenEnv: *tokenEnv})
	if err != nil {
		fmt.Fprintf(stderr, "connectord import: %s: %v\n", file, err)
		return exitInvalid
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if plan.YAML == nil {
		fmt.Fprintln(stderr, "connectord import: nothing to write")
		return exitInvalid
	}
	dest := filepath.Join(*out, plan.File)
	if _, err := os.Stat(dest); err == nil && !*force {
		fmt.Fprintf(stderr, "connectord import: %s exists; use --force to overwrite it\n", dest)
		return exitInvalid
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stderr, "connectord import:", err)
		return exitInvalid
	}
	// The temporary file is written beside dest, so --out must exist first.
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "connectord import: --out %s: %v\n", *out, err)
		return exitInvalid
	}
	if err := soc.WriteFileAtomic(dest, plan.YAML, 0o644); err != nil {
		fmt.Fprintln(stderr, "connectord import:", err)
		return exitInvalid
	}
	printImported(stdout, dest, req, plan)
	return exitOK
}

func printImported(w io.Writer, dest string, req *soc.Request, plan *soc.Plan) {
	fmt.Fprintf(w, "wrote %s: %s\n", dest, strings.Join(plan.Pipelines, ", "))
	if plan.Webhook != "" {
		pub, _ := os.LookupEnv(soc.EnvPublicURL)
		fmt.Fprintf(w, "webhook URL (paste it into the Intercom app's Webhooks page): %s%s\n", soc.PublicBase(pub, ""), plan.Webhook)
		if pub == "" {
			fmt.Fprintf(w, "  (set %s to the address Intercom reaches --listen at)\n", soc.EnvPublicURL)
		}
	}
	if len(plan.Env) > 0 || len(plan.Polling) > 0 && plan.TokenRef == "" {
		fmt.Fprintln(w, "set these environment variables before connectord run:")
		for _, e := range plan.Env {
			fmt.Fprintf(w, "  %s  (%s)\n", e.Name, e.Purpose)
		}
	}
	if plan.TokenRef != "" {
		fmt.Fprintf(w, "the pollers use the stored token %q; store it with:\n", plan.TokenRef)
		fmt.Fprintf(w, "  connectord auth intercom --client-id %s --client-secret-env %s_INTERCOM_CLIENT_SECRET --name %s --pipeline %s\n",
			orPlaceholder(req.Config.ClientID, "<oauth.api.key>"), soc.EnvPrefix(plan.Base), plan.TokenRef, strings.Join(plan.Polling, ","))
	}
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

// splitPositional takes a leading FILE argument out of args, so that flags
// may follow it ("import x.json --out dir"); a FILE after the flags is left
// for fs.Arg(0).
func splitPositional(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}
