package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthcheckCmd asks a daemon's /healthz and exits 0 on 200, 1 otherwise.
// It is the container HEALTHCHECK: the image has no curl or wget, only this
// binary.
func healthcheckCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("healthcheck", stderr)
	addr := fs.String("admin", "127.0.0.1:9090", "the daemon's admin address (host:port or URL)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/healthz", nil)
	if err != nil {
		fmt.Fprintf(stderr, "connectord healthcheck: --admin %s: %v\n", *addr, err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "connectord healthcheck: %v\n", err)
		return exitInvalid
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "connectord healthcheck: %s/healthz answered %s\n", base, resp.Status)
		return exitInvalid
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}
