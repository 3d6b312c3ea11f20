package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/cmd/connectord/internal/fleet"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/pipelines"
)

// The demo's fixed credentials: the shipped pipelines default to them.
const (
	demoToken        = "demo-token"
	demoClientSecret = "demo-client-secret"
	demoSignatureKey = "demo-signature-key"
	demoUserSecret   = "demo-user-secret"
	demoOrgSecret    = "demo-org-secret"
)

// demoCmd runs the whole job in one process: the Intercom simulator, the
// pipelines of --config pointed at it, and a receiver that verifies every
// callback's signature and prints one line per event.
func demoCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", stderr)
	dir := fs.String("config", "./pipelines", "directory of pipeline files (edit them while the demo runs); default ./pipelines if it exists, else the shipped ones")
	data := fs.String("data", "", "store directory (default: a temporary one, removed at exit)")
	adminAddr := fs.String("admin", "127.0.0.1:9090", "admin listener: status page, metrics (127.0.0.1:0 picks a free port)")
	every := fs.Duration("every", time.Second, "pause between simulated Intercom changes")
	poll := fs.String("poll", "5s", "poller refresh_interval in the demo")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until Ctrl-C)")
	level := fs.String("log-level", "warn", "connectord's log level")
	replicas := fs.Int("cluster", 0, "run this many replicas (child processes of `connectord run`) on --store instead of one in-process connectord")
	storeURL := fs.String("store", "", "with --cluster: the NATS JetStream cluster the replicas share, nats://h1:4222,h2:4222,… (?stream=NAME, default DEMO)")
	leaseTTL := fs.Duration("lease-ttl", daemon.SharedLeaseTTL, "with --cluster: the replicas' lease TTL (how soon a crashed replica's work moves; the pipelines' sink timeouts must fit in it)")
	restartAfter := fs.Duration("restart-after", 0, "with --cluster: restart a replica that died after this long (default: the lease TTL + 5s, so the takeover shows first; 0 given explicitly: leave it dead)")
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	tuneGC()
	out := &lockedWriter{w: stdout}
	if *replicas > 0 && !isNATS(*storeURL) {
		fmt.Fprint(stderr, demoStoreHint)
		return exitUsage
	}
	if !flagSet(fs, "config") && !isDir(*dir) {
		tmp, err := extractShipped()
		if err != nil {
			fmt.Fprintln(stderr, "connectord demo:", err)
			return exitInvalid
		}
		defer os.RemoveAll(filepath.Dir(tmp))
		*dir = tmp
	}
	logger, err := newLogger(stderr, *level, "text")
	if err != nil {
		fmt.Fprintln(stderr, "connectord demo:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if *data == "" {
		tmp, err := os.MkdirTemp("", "connectord-demo-*")
		if err != nil {
			fmt.Fprintln(stderr, "connectord demo:", err)
			return exitInvalid
		}
		defer os.RemoveAll(tmp)
		*data = tmp
	}

	if *replicas > 0 {
		store := *storeURL
		if !strings.Contains(store, "stream=") {
			sep := "?"
			if strings.Contains(store, "?") {
				sep = "&"
			}
			store += sep + "stream=DEMO" // not the production default stream
		}
		if !flagSet(fs, "restart-after") {
			*restartAfter = *leaseTTL + 5*time.Second
		}
		c := &clusterDemo{n: *replicas, store: store, dir: *dir, data: *data, every: *every, poll: *poll, leaseTTL: *leaseTTL, restartAfter: *restartAfter, out: out}
		return c.run(ctx)
	}

	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, "connectord demo:", err)
		return exitInvalid
	}
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	sim, _ := startSimulator(simCtx, simLn, simOptions{token: demoToken, records: 50, seed: uint64(time.Now().UnixNano())}, nil)

	recv := &demoReceiver{out: out, key: []byte(demoSignatureKey)}
	recvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, "connectord demo:", err)
		return exitInvalid
	}
	recvSrv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go recvSrv.Serve(recvLn)
	defer recvSrv.Close()

	overrides := map[string]string{
		"INTERCOM_API":           "http://" + simLn.Addr().String(),
		"INTERCOM_TOKEN":         demoToken,
		"INTERCOM_CLIENT_SECRET": demoClientSecret,
		"CALLBACK_URL":           "http://" + recvLn.Addr().String() + "/events",
		"SIGNATURE_KEY":          demoSignatureKey,
		"POLL_INTERVAL":          *poll,
	}
	// The status page's usual port may be taken (another connectord): the
	// demo then takes a free one and prints it.
	if ln, err := net.Listen("tcp", *adminAddr); err != nil {
		*adminAddr = "127.0.0.1:0"
	} else {
		ln.Close()
	}
	d, err := daemon.Start(ctx, daemon.Config{
		ConfigDir: *dir, DataDir: *data, Listen: "127.0.0.1:0", Admin: *adminAddr, Logger: logger,
		DrainTimeout: 2 * time.Second,
		// The /instances API and the console's "Connect Intercom" use the
		// simulator's OAuth endpoints.
		Instances: soc.APIConfig{
			UserSecret: demoUserSecret, OrgSecret: demoOrgSecret,
			TokenURL: overrides["INTERCOM_API"] + intercomsim.TokenPath, AuthorizeURL: overrides["INTERCOM_API"] + intercomsim.AuthorizePath,
		},
		Env: func(name string) (string, bool) {
			if v, ok := overrides[name]; ok {
				return v, true
			}
			return os.LookupEnv(name)
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "connectord demo: %v\n", err)
		return exitInvalid
	}
	webhookURL := ""
	for _, p := range d.Runtime().Status() {
		if p.Source == "intercom_webhook" && webhookURL == "" {
			webhookURL = "http://" + d.ListenAddr() + p.Path
		}
	}
	fmt.Fprintf(out, "connectord demo: %d pipelines from %s, Intercom simulator at %s, callbacks verified at %s\n",
		len(d.Runtime().Status()), *dir, overrides["INTERCOM_API"], overrides["CALLBACK_URL"])
	if a := d.AdminAddr(); a != "" {
		fmt.Fprintf(out, "status page: http://%s/   metrics: http://%s/metrics   instance console: http://%s/console\n", a, a, a)
		fmt.Fprintf(out, "SAP Open Connectors API: POST http://%s%sinstances with -H 'authorization: User %s, Organization %s'\n", a, soc.APIPrefix, demoUserSecret, demoOrgSecret)
	}
	fmt.Fprintf(out, "a change every %s (webhook to %s), polls every %s; edit %s/*.yaml and save to see a hot reload; Ctrl-C stops\n\n", *every, orNone(webhookURL), *poll, *dir)
	fmt.Fprintf(out, "%-8s  %-24s %-8s %-34s %-22s %s\n", "TIME", "PIPELINE", "TYPE", "OBJECT", "EVENT ID", "SIGNATURE")

	go sim.Trickle(simCtx, intercomsim.TrickleOptions{Every: *every, WebhookURL: webhookURL, ClientSecret: demoClientSecret})
	_, werr := d.Watch(ctx, daemon.DefaultDebounce, func(st daemon.ReloadStatus) {
		if st.OK {
			fmt.Fprintf(out, "%s  reload: started %v, replaced %v, stopped %v, unchanged %v\n", time.Now().Format("15:04:05"), st.Result.Started, st.Result.Replaced, st.Result.Stopped, st.Result.Unchanged)
		} else {
			fmt.Fprintf(out, "%s  reload rejected, pipelines unchanged:\n%s\n", time.Now().Format("15:04:05"), st.Error)
		}
	})
	if werr != nil {
		fmt.Fprintf(out, "hot reload is off: %v\n", werr)
	}

	<-ctx.Done()
	stopSim()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.Shutdown(sctx)
	ok, bad := recv.counts()
	fmt.Fprintf(out, "\n%d events received, %d with a valid signature, %d invalid\n", ok+bad, ok, bad)
	if bad > 0 {
		return exitInvalid
	}
	return exitOK
}

// extractShipped copies the shipped pipelines, built into the binary, into
// a new temporary directory and returns its pipelines/ folder: an installed
// connectord has no ./pipelines, and hot reload needs real files to edit.
func extractShipped() (string, error) {
	root, err := os.MkdirTemp("", "connectord-demo-pipelines-*")
	if err != nil {
		return "", fmt.Errorf("a directory for the shipped pipelines: %w", err)
	}
	dir := filepath.Join(root, "pipelines")
	if err := os.CopyFS(dir, pipelines.FS); err != nil {
		os.RemoveAll(root)
		return "", fmt.Errorf("copying the shipped pipelines to %s: %w", dir, err)
	}
	return dir, nil
}

// flagSet says whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func orNone(s string) string {
	if s == "" {
		return "none: no intercom_webhook pipeline"
	}
	return s
}

// demoReceiver verifies Elements-Webhook-Signature and prints each event.
type demoReceiver struct {
	out     io.Writer
	key     []byte
	mu      sync.Mutex
	ok, bad int
}

func (r *demoReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	d, err := fleet.ReadCallback(r.key, req)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	typ, obj := "?", "?"
	if d.Type != "" || d.Object != "" {
		typ, obj = d.Event, d.Type+"/"+d.Object
	}
	valid := d.Valid
	sig := "signature OK"
	r.mu.Lock()
	if valid {
		r.ok++
	} else {
		r.bad++
		sig = "signature BAD"
	}
	r.mu.Unlock()
	fmt.Fprintf(r.out, "%-8s  %-24s %-8s %-34s %-22s %s\n", d.At.Format("15:04:05"), d.Pipeline, typ, obj, short(d.EventID, 22), sig)
}

func (r *demoReceiver) counts() (ok, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok, r.bad
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// lockedWriter serialises lines written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
