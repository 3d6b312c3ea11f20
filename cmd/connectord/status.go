package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
)

// statusCmd prints the running daemon's pipelines, read from its admin
// API: a table for people, or the API's JSON with --json.
func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", stderr)
	addr := fs.String("admin", "127.0.0.1:9090", "the daemon's admin address (host:port or URL)")
	asJSON := fs.Bool("json", false, "print the status API's JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the daemon")
	storeFl := addStoreFlags(fs)
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	body, err := fetchStatus(base, os.Getenv("CONNECTORD_ADMIN_TOKEN"), *timeout)
	if spec := storeFl.spec(fs, ""); err != nil && storeFl.explicit && !spec.IsBolt() {
		// A shared store can be read without the daemon: queues and dead
		// letters, not the daemon's rates and errors.
		fmt.Fprintf(stderr, "connectord status: %v\nreading the store instead\n", err)
		if err := printStoreStatus(stdout, spec, *asJSON); err != nil {
			fmt.Fprintf(stderr, "connectord status: %v\n", err)
			return exitInvalid
		}
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "connectord status: %v\n", err)
		return exitInvalid
	}
	if *asJSON {
		stdout.Write(body)
		return exitOK
	}
	var resp admin.PipelinesResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		fmt.Fprintf(stderr, "connectord status: %s did not answer with pipeline status: %v\n", base, err)
		return exitInvalid
	}
	printStatus(stdout, resp)
	return exitOK
}

// fetchStatus gets /api/pipelines, turning each way it can fail into a
// message that says what to do.
func fetchStatus(base, token string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/pipelines", nil)
	if err != nil {
		return nil, fmt.Errorf("--admin %s: %v", base, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return nil, fmt.Errorf("cannot reach the daemon's admin API at %s (is `connectord run` running, with this --admin?): %v", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %v", base, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && token == "":
		return nil, fmt.Errorf("the admin API at %s requires a token: set CONNECTORD_ADMIN_TOKEN", base)
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("the admin API at %s refused the token in CONNECTORD_ADMIN_TOKEN", base)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the admin API at %s answered %s: %s", base, resp.Status, admin.Truncate(string(body), 200))
	}
	return body, nil
}

// maxErrorShown bounds LAST ERROR in the table; --json has it whole.
const maxErrorShown = 400

func printStatus(w io.Writer, resp admin.PipelinesResponse) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// UP is how long the pipeline has run its current config: a reload that
	// changes it starts the count again (the generation number is in --json).
	fmt.Fprintln(tw, "NAME\tSTATE\tUP\tQUEUED\tOLDEST\tDEAD\tDELIVERED/MIN\tLAG\tLAST ERROR")
	for _, p := range resp.Pipelines {
		up, oldest, lag, lastErr := "-", "-", "-", "-"
		if !p.Started.IsZero() && !resp.Now.IsZero() {
			up = admin.HumanDuration(resp.Now.Sub(p.Started))
		}
		if p.Queued > 0 {
			oldest = admin.HumanDuration(seconds(p.OldestAgeSeconds))
		}
		if p.LagSeconds != nil {
			lag = admin.HumanDuration(seconds(*p.LagSeconds))
		}
		if p.LastError != "" {
			lastErr = admin.Truncate(shortError(p), maxErrorShown)
		} else if p.State == admin.StatePaused && p.StateDetail != "" {
			lastErr = admin.Truncate(p.StateDetail, maxErrorShown)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%.1f\t%s\t%s\n",
			p.Name, p.State, up, p.Queued, oldest, p.DeadLetters, p.Rates.DeliveredPerMinute, lag, lastErr)
	}
	tw.Flush()
	for _, p := range resp.Pipelines {
		if p.WebhookURL != "" {
			fmt.Fprintf(w, "webhook URL of %s (paste it into the Intercom app's Webhooks page): %s\n", p.Name, p.WebhookURL)
		}
	}
	if len(resp.Pipelines) == 0 {
		fmt.Fprintln(w, "(no pipelines)")
	}
	// Endpoints, once each: several pipelines may deliver to one.
	seen := map[string]bool{}
	for _, p := range resp.Pipelines {
		if ep := p.Endpoint; ep != nil && !seen[ep.Endpoint] {
			seen[ep.Endpoint] = true
			line := admin.EndpointLine(*ep, resp.Now)
			if ep.State == "down" && ep.LastError != "" {
				line += " · " + admin.Truncate(ep.LastError, 80)
			}
			fmt.Fprintf(w, "%s: %s\n", ep.Endpoint, line)
		}
	}
	fmt.Fprintln(w, reloadSummary(resp.Reload, resp.Now))
	if resp.SecretsAtRest != "" {
		fmt.Fprintln(w, "secrets at rest: "+resp.SecretsAtRest)
	}
	for _, p := range resp.Pipelines {
		if p.Poller != nil {
			fmt.Fprintf(w, "%s is polled by replica %s for %s\n", p.Name, p.Poller.Replica, admin.HumanDuration(resp.Now.Sub(p.Poller.Since)))
		}
		if line := admin.PartitionsLine(p.Partitions, resp.Now); line != "" {
			fmt.Fprintf(w, "%s: this replica %s\n", p.Name, line)
		}
	}
	if resp.Replica != "" {
		line := "replica " + resp.Replica
		if ms := admin.MembersLine(resp.Members, resp.Replica, resp.Now); ms != "" {
			line += " · replicas: " + ms
		}
		fmt.Fprintln(w, line)
	}
}

// shortError drops what the row already says from a pipeline's last
// error: `source: intercom_poller in pipeline "X" (conversations): …`
// becomes `intercom_poller (conversations): …`.
func shortError(p admin.Pipeline) string {
	e := strings.ReplaceAll(p.LastError, fmt.Sprintf(" in pipeline %q", p.Name), "")
	if p.Source != "" {
		e = strings.Replace(e, "source: "+p.Source, p.Source, 1)
	}
	return e
}

func reloadSummary(r admin.ReloadStatus, now time.Time) string {
	if r.At.IsZero() {
		return "last reload: none"
	}
	when := r.At.Local().Format("2006-01-02 15:04:05")
	if !now.IsZero() {
		when += " (" + admin.HumanDuration(now.Sub(r.At)) + " ago)"
	}
	if !r.OK {
		return "last reload: error at " + when + "; pipelines kept running their previous config:\n  " +
			strings.ReplaceAll(r.Error, "\n", "\n  ")
	}
	var parts []string
	for _, g := range []struct {
		what  string
		names []string
	}{{"started", r.Result.Started}, {"replaced", r.Result.Replaced}, {"stopped", r.Result.Stopped}, {"unchanged", r.Result.Unchanged}} {
		if len(g.names) > 0 {
			parts = append(parts, g.what+" "+strings.Join(g.names, ", "))
		}
	}
	line := "last reload: ok at " + when
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, "; ")
	}
	return line
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
