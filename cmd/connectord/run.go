package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine/config"
)

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	dir := fs.String("config", "./pipelines", "directory of pipeline files, or one file")
	listen := fs.String("listen", "127.0.0.1:8080", "webhook listener address")
	adminAddr := fs.String("admin", "127.0.0.1:9090", "admin listener address (metrics, health, status)")
	data := fs.String("data", "./data", "directory of the embedded store")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	drain := fs.Duration("drain-timeout", 15*time.Second, "how long shutdown waits for deliveries in flight")
	watch := fs.Bool("watch", true, "reload when pipeline files change (SIGHUP reloads too)")
	replicaID := fs.String("replica-id", os.Getenv("CONNECTORD_REPLICA_ID"), "this replica's id among those sharing a --store (default: host name + random suffix; env CONNECTORD_REPLICA_ID)")
	leaseTTL := fs.Duration("lease-ttl", 0, "TTL of the member, poll and delivery partition leases (default 15s on --store nats://…, where every replica must use the same and the sink timeouts must fit in it; a crashed replica's work moves after at most this long)")
	storeFl := addStoreFlags(fs)
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "connectord run:", err)
		return exitUsage
	}
	tuneGC()
	if path := os.Getenv("CONNECTORD_CPUPROFILE"); path != "" {
		// For benchmarks: a CPU profile of the whole run, written at exit.
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(stderr, "connectord run: CONNECTORD_CPUPROFILE:", err)
			return exitUsage
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if path := os.Getenv("CONNECTORD_MEMPROFILE"); path != "" {
		// For benchmarks: every allocation of the run (pprof's allocs
		// profile, sampled), written at exit.
		defer func() {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	// Signals are caught before anything starts: a SIGHUP during start-up
	// must reload, not kill the process (its default action).
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	ctx := context.Background()
	d, err := daemon.Start(ctx, daemon.Config{
		ConfigDir:    *dir,
		DataDir:      *data,
		Store:        storeFl.spec(fs, *data),
		Listen:       *listen,
		Admin:        *adminAddr,
		Logger:       logger,
		DrainTimeout: *drain,
		ReplicaID:    *replicaID,
		LeaseTTL:     *leaseTTL,
		AdminToken:   config.Secret(os.Getenv("CONNECTORD_ADMIN_TOKEN")),
	})
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			fmt.Fprintln(stderr, errs.Error())
			return exitInvalid
		}
		logger.Error("cannot start", "error", err)
		return exitInvalid
	}

	warnSimulatorDefaults(logger, *dir, soc.WithSecrets(*data, os.LookupEnv))

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if *watch {
		if _, err := d.Watch(watchCtx, daemon.DefaultDebounce, nil); err != nil {
			logger.Error("cannot watch the config directory; reload with SIGHUP", "error", err)
		}
	}

	for s := range sig {
		if s == syscall.SIGHUP {
			d.Reload(ctx)
			continue
		}
		logger.Info("shutting down", "signal", s.String(), "drain_timeout", *drain)
		stopWatch()
		sctx, cancel := context.WithTimeout(ctx, *drain)
		err := d.Shutdown(sctx)
		cancel()
		if err != nil {
			logger.Error("shutdown", "error", err)
			return exitInvalid
		}
		logger.Info("stopped")
		return exitOK
	}
	return exitOK
}

// warnSimulatorDefaults logs, loudly, every pipeline value that came from a
// default meant for `connectord demo`: a forgotten variable would otherwise
// leave a production daemon polling the simulator's address or signing with
// a published key.
func warnSimulatorDefaults(logger *slog.Logger, dir string, env config.Env) {
	specs, errs := config.Load(dir, env)
	if len(errs) > 0 {
		return // Start loaded the same files; a change since is the watcher's
	}
	if len(specs) == 0 {
		logger.Warn("no pipelines in the config directory yet; add files and they start", "config", dir)
	}
	found := simulatorDefaults(specs)
	for _, f := range found {
		logger.Warn("SIMULATOR DEFAULT: set "+f.Var+" for a real workspace", "pipelines", f.Pipelines, "variable", f.Var, "at", f.Pos.String(), "why", f.Why)
	}
	if len(found) > 0 {
		logger.Warn(fmt.Sprintf("%d pipeline value(s) come from defaults meant for the demo simulator; `connectord validate --strict` lists them", len(found)))
	}
}

// tuneGC trades memory for CPU: the daemon's live heap is small (tens of
// MB: the backlog lives on disk), so Go's default GOGC=100 collects very
// often. At 400 the webhook benchmark spent 20% less CPU per event (0.258 →
// 0.206 s per 1,000) for 10 MiB more peak RSS. GOGC in the environment
// still wins.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
