package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
)

// simOptions are the simulator's knobs, shared by `simulate` and `demo`.
type simOptions struct {
	token        string
	records      int
	every        time.Duration
	webhookURL   string
	clientSecret string
	failRate     float64
	failStatus   int
	rateLimit    int
	seed         uint64
}

// startSimulator serves a populated fake Intercom on ln and, if every > 0,
// trickles changes (and signed webhooks) until ctx ends.
func startSimulator(ctx context.Context, ln net.Listener, o simOptions, onChange func(intercomsim.Change, int, error)) (*intercomsim.Server, error) {
	// The simulator's OAuth token endpoint exchanges any code for the token,
	// so SAP Open Connectors' curl examples work as written.
	sim := intercomsim.New(intercomsim.Options{Token: o.token, Seed: o.seed, RateLimit: o.rateLimit, AcceptAnyCode: true})
	now := time.Now()
	sim.Populate(intercomsim.Conversations, o.records, now.Add(-30*24*time.Hour), now.Add(-time.Hour))
	sim.Populate(intercomsim.Contacts, o.records/2, now.Add(-30*24*time.Hour), now.Add(-time.Hour))
	if o.failRate > 0 {
		sim.FailRate(o.failRate, o.failStatus)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if o.every > 0 {
		go sim.Trickle(ctx, intercomsim.TrickleOptions{Every: o.every, WebhookURL: o.webhookURL, ClientSecret: o.clientSecret, OnChange: onChange})
	}
	return sim, nil
}

func simulateCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"intercom", "--help"}
	}
	if len(args) == 0 || args[0] != "intercom" {
		fmt.Fprintln(stderr, "usage: connectord simulate intercom [flags]   (Intercom is the only vendor simulated)")
		return exitUsage
	}
	fs := newFlags("simulate intercom", stderr)
	listen := fs.String("listen", "127.0.0.1:8700", "address of the simulated REST API")
	o := simOptions{}
	fs.StringVar(&o.token, "token", "demo-token", "bearer token the API accepts")
	fs.IntVar(&o.records, "records", 200, "conversations to create up front (and half as many contacts)")
	fs.DurationVar(&o.every, "every", time.Second, "pause between simulated changes (0: no changes)")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "send a signed notification per change to this URL (e.g. http://127.0.0.1:8080/webhooks/intercom)")
	fs.StringVar(&o.clientSecret, "client-secret", "demo-client-secret", "secret that signs notifications (X-Hub-Signature)")
	fs.Float64Var(&o.failRate, "fail-rate", 0, "fraction of API requests answered with --fail-status (rehearse failures)")
	fs.IntVar(&o.failStatus, "fail-status", 500, "status for injected failures: 500 or 429")
	fs.IntVar(&o.rateLimit, "rate-limit", 0, "requests allowed per 10s window before 429 (0: unlimited)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for reproducible data")
	if code, ok := parse(fs, stdout, args[1:]); !ok {
		return code
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "connectord simulate:", err)
		return exitInvalid
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = startSimulator(ctx, ln, o, func(c intercomsim.Change, status int, err error) {
		what := "updated"
		if c.Created {
			what = "created"
		}
		line := fmt.Sprintf("%s  %s %s/%s", time.Now().Format("15:04:05"), what, c.Kind, c.ID)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			line += "  webhook failed: " + err.Error()
		case status != 0:
			line += fmt.Sprintf("  webhook answered %d", status)
		}
		fmt.Fprintln(stdout, line)
	})
	if err != nil {
		fmt.Fprintln(stderr, "connectord simulate:", err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "Intercom simulator on http://%s (token %q); Ctrl-C stops it\n", ln.Addr(), o.token)
	<-ctx.Done()
	return exitOK
}
