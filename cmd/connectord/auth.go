package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/soc"
)

// authCmd is `connectord auth intercom`: the OAuth authorisation-code flow,
// storing the token for pipelines to use with token_ref.
func authCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"intercom", "--help"}
	}
	if len(args) == 0 || args[0] != "intercom" {
		fmt.Fprintln(stderr, "usage: connectord auth intercom --client-id ID --client-secret-env VAR --name NAME [--data DIR] [--port N] [--pipeline P,…] [--authorize-url URL] [--token-url URL]")
		return exitUsage
	}
	fs := newFlags("auth intercom", stderr)
	clientID := fs.String("client-id", "", "the Intercom app's client id (oauth.api.key)")
	secretEnv := fs.String("client-secret-env", "", "environment variable holding the app's client secret (oauth.api.secret)")
	name := fs.String("name", "", "name to store the token under; pipelines use it as token_ref")
	data := fs.String("data", "./data", "directory of the embedded store")
	port := fs.Int("port", 0, "callback port on 127.0.0.1 (register http://127.0.0.1:PORT/callback as the app's redirect URL); 0 picks one")
	pipelines := fs.String("pipeline", "", "comma-separated pipelines that read the token (each gets a copy)")
	authorizeURL := fs.String("authorize-url", soc.DefaultAuthorizeURL, "Intercom's authorize page")
	tokenURL := fs.String("token-url", soc.DefaultTokenURL, "Intercom's token endpoint")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the browser")
	if code, ok := parse(fs, stdout, args[1:]); !ok {
		return code
	}
	var missing []string
	for flagName, v := range map[string]string{"--client-id": *clientID, "--client-secret-env": *secretEnv, "--name": *name} {
		if v == "" {
			missing = append(missing, flagName)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "connectord auth intercom: %s required\n", strings.Join(missing, ", "))
		return exitUsage
	}
	secret, ok := os.LookupEnv(*secretEnv)
	if !ok || secret == "" {
		fmt.Fprintf(stderr, "connectord auth intercom: environment variable %s (--client-secret-env) is not set\n", *secretEnv)
		return exitUsage
	}
	var pipes []string
	for _, p := range strings.Split(*pipelines, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pipes = append(pipes, p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := soc.AuthFlow{
		ClientID: *clientID, ClientSecret: secret, Name: *name, Pipelines: pipes, DataDir: *data,
		Port: *port, AuthorizeURL: *authorizeURL, TokenURL: *tokenURL, Timeout: *timeout, Out: stdout,
	}.Run(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "connectord auth intercom:", err)
		return exitInvalid
	}
	return exitOK
}
