// Package daemon assembles a running connectord: the store, the pipeline
// runtime, the webhook listener (--listen), the admin listener (--admin) and
// reloads of the config directory. The CLI's `run`, the demo and end-to-end
// tests all start connectord through it.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
	"github.com/connectord/connectord/cmd/connectord/internal/console"
	"github.com/connectord/connectord/cmd/connectord/internal/dlq"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/cluster/natskv"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/sealed"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
	"github.com/connectord/connectord/engine/store/storeurl"
	"github.com/connectord/connectord/sources/intercom"
)

// Config says where a daemon finds its pipelines and state and where it
// listens.
type Config struct {
	ConfigDir string // pipeline files
	DataDir   string // the embedded store (and API-created pipelines' secrets)
	// Store chooses the store (--store); the zero value is the embedded
	// bbolt file in DataDir. Store.DataDir defaults to DataDir.
	Store  storeurl.Spec
	Listen string // webhook listener address; "" disables it
	Admin  string // admin listener address; "" disables it
	Logger *slog.Logger
	Env    config.Env   // default os.LookupEnv
	Clock  engine.Clock // default the system clock
	// DrainTimeout bounds the wait for deliveries in flight when a
	// pipeline stops (default 10s).
	DrainTimeout time.Duration
	// AdminToken, when set, is required as a bearer token on the admin API.
	AdminToken config.Secret
	// Instances configures the SAP Open Connectors /instances API served
	// at /elements/api-v2/ on the admin listener (engine/soc). Unset
	// secrets come from CONNECTORD_OC_USER_SECRET and
	// CONNECTORD_OC_ORG_SECRET in Env; without them the API answers 403.
	Instances soc.APIConfig
	// Breaker overrides the sink endpoints' circuit breaker (tests).
	Breaker runner.Breaker

	// beforeApply, in tests, runs after the listeners are bound and before
	// the pipelines are applied.
	beforeApply func(*Daemon)

	// ReplicaID names this replica among those sharing the store
	// (--replica-id); "" is DefaultReplicaID().
	ReplicaID string
	// LeaseTTL is the TTL of the poll, member and delivery partition
	// leases (default 10s with bolt, SharedLeaseTTL with NATS). Every
	// replica sharing a store must use the same. With NATS a sink's
	// timeout must fit in it (see runner: delivery partitions).
	LeaseTTL time.Duration
	// Coordinator, in tests, is the lease coordinator; nil: a
	// cluster.Local with bolt, the KV bucket cd_leases with NATS.
	Coordinator cluster.Coordinator

	// PublicURL is the base URL Intercom reaches Listen at, for webhook
	// URLs; "" reads CONNECTORD_PUBLIC_URL from Env, else http://<Listen>.
	PublicURL string
}

// Daemon is a running connectord.
type Daemon struct {
	cfg     Config
	store   store.Store
	runtime *runner.Runtime
	servers []*http.Server
	addrs   map[string]string
	metrics *admin.Metrics
	admin   *admin.Handler
	inst    *soc.Instances
	// memberStop ends keepMember, which holds this replica's member lease;
	// memberDone is closed once it has released it.
	memberStop context.CancelFunc
	memberDone chan struct{}

	reloadMu   sync.Mutex // serialises reloads
	statusMu   sync.Mutex // guards lastReload
	lastReload ReloadStatus
}

// ReloadStatus is the outcome of the last (re)load of the config directory.
type ReloadStatus = admin.ReloadStatus

// Start opens the store, builds every pipeline, binds the listeners and
// starts the pipelines. A config error is returned as config.Errors and
// nothing is left running.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Env == nil {
		cfg.Env = os.LookupEnv
	}
	cfg.Env = soc.WithSecrets(cfg.DataDir, cfg.Env) // variables of API-created pipelines
	if cfg.Clock == nil {
		cfg.Clock = engine.SystemClock{}
	}
	ring, err := sealed.Default()
	if err != nil {
		return nil, err
	}
	built, errs := load(cfg)
	if len(errs) > 0 {
		return nil, errs
	}
	if cfg.Store.DataDir == "" {
		cfg.Store.DataDir = cfg.DataDir
	}
	st, err := storeurl.Open(ctx, cfg.Store)
	if err != nil {
		closeAll(built)
		if cfg.Store.IsBolt() {
			return nil, fmt.Errorf("opening store in %s: %w", cfg.DataDir, err)
		}
		return nil, fmt.Errorf("opening store %s: %w", cfg.Store, err)
	}
	if err := reseal(ctx, st, cfg, ring); err != nil {
		closeAll(built)
		st.Close()
		return nil, err
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = DefaultReplicaID()
	}
	coord, err := coordinator(ctx, cfg, st)
	if err != nil {
		closeAll(built)
		st.Close()
		return nil, err
	}
	mctx, mstop := context.WithCancel(context.WithoutCancel(ctx))
	member, err := announce(ctx, mctx, coord, cfg.ReplicaID)
	if err != nil {
		mstop()
		closeAll(built)
		st.Close()
		return nil, err
	}
	_, shared := st.(*natsstore.Store)
	d := &Daemon{cfg: cfg, store: st, addrs: map[string]string{}, metrics: admin.NewMetrics(), memberStop: mstop, memberDone: make(chan struct{})}
	go d.keepMember(mctx, coord, member)
	d.runtime = runner.NewRuntime(runner.Options{
		Store: st, Logger: cfg.Logger, Clock: cfg.Clock, DrainTimeout: cfg.DrainTimeout, Observer: d.metrics,
		Breaker: cfg.Breaker, Coordinator: coord, ReplicaID: cfg.ReplicaID,
		SharedDelivery: shared,
	})
	gate := &startGate{next: d.metrics.InstrumentWebhooks(d.runtime.Router())}
	if err := d.listen("listen", cfg.Listen, gate); err != nil {
		d.closeListeners(ctx)
		closeAll(built)
		d.leave(ctx)
		st.Close()
		return nil, err
	}
	if d.cfg.PublicURL == "" {
		d.cfg.PublicURL, _ = cfg.Env(soc.EnvPublicURL)
	}
	dead := &dlq.Service{Store: st, Runtime: d.runtime}
	d.inst = soc.NewInstances(soc.Deps{
		APIConfig: d.cfg.Instances, Store: st, ConfigDir: cfg.ConfigDir, DataDir: cfg.DataDir,
		Env: cfg.Env, Logger: cfg.Logger, Now: cfg.Clock.Now, PublicURL: d.PublicBase,
		Reload: func(ctx context.Context) { d.Reload(ctx) },
	})
	d.admin = admin.New(admin.Deps{
		Runtime: d.runtime, Store: st, Reload: d.ReloadStatus, Token: cfg.AdminToken, Metrics: d.metrics, Now: cfg.Clock.Now,
		PublicURL: d.PublicBase,
		Mount: func(mux *http.ServeMux) {
			dlq.Register(mux, dead)
			console.Register(mux, console.Deps{Instances: d.inst, Runtime: d.runtime, Store: st, DLQ: dead, Logger: cfg.Logger, Deliveries: d.metrics})
			// The /instances API is mounted inside the admin handler so
			// the admin token guards it as well as its own secrets.
			mux.Handle(soc.APIPrefix, d.inst.Handler())
		},
	})
	if err := d.listen("admin", cfg.Admin, d.admin); err != nil {
		d.admin.Close()
		d.closeListeners(ctx)
		closeAll(built)
		d.leave(ctx)
		st.Close()
		return nil, err
	}
	if err := soc.SyncHolds(ctx, st, built); err != nil {
		cfg.Logger.Error("pausing pipelines without callback URL", "error", err)
	}
	if cfg.beforeApply != nil {
		cfg.beforeApply(d)
	}
	res := d.runtime.Apply(ctx, built)
	d.setReload(ReloadStatus{At: cfg.Clock.Now(), OK: true, Result: res})
	gate.open.Store(true)
	d.admin.Started()
	cfg.Logger.Info("connectord started", "replica", cfg.ReplicaID, "pipelines", len(built), "listen", d.addrs["listen"], "admin", d.addrs["admin"], "data", cfg.DataDir, "store", cfg.Store.String())
	d.logWebhookURLs(built, nil)
	return d, nil
}

// reseal encrypts secrets at rest written before the key was set, or
// with a previous key, so a rotation completes at the first start with the
// new key.
func reseal(ctx context.Context, st store.Store, cfg Config, ring *sealed.Keyring) error {
	if !ring.Enabled() {
		return nil
	}
	n, err := intercom.ResealTokens(ctx, st, ring)
	if err != nil {
		return fmt.Errorf("sealing stored tokens: %w", err)
	}
	rewrote, err := soc.ResealSecrets(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("sealing instance secrets: %w", err)
	}
	if n > 0 || rewrote {
		cfg.Logger.Info("secrets at rest sealed with the current key", "tokens", n, "secrets_file", rewrote)
	}
	return nil
}

func load(cfg Config) ([]*runner.Built, config.Errors) {
	specs, errs := config.Load(cfg.ConfigDir, cfg.Env)
	if len(errs) > 0 {
		return nil, errs
	}
	return runner.Build(specs, runner.BuildOptions{Logger: cfg.Logger, Clock: cfg.Clock})
}

// listen binds addr now, so a port in use fails Start, and serves h.
func (d *Daemon) listen(name, addr string, h http.Handler) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--%s %s: %w", name, addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.cfg.Logger.Handler(), slog.LevelWarn),
	}
	d.servers = append(d.servers, srv)
	d.addrs[name] = ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.cfg.Logger.Error("listener failed", "listener", name, "error", err)
		}
	}()
	return nil
}

// ListenAddr is the bound webhook address (useful with port 0).
func (d *Daemon) ListenAddr() string { return d.addrs["listen"] }

// AdminAddr is the bound admin address.
func (d *Daemon) AdminAddr() string { return d.addrs["admin"] }

// Runtime is the pipeline runtime.
func (d *Daemon) Runtime() *runner.Runtime { return d.runtime }

// Store is the daemon's store.
func (d *Daemon) Store() store.Store { return d.store }

// Reload re-reads the config directory and applies it. A bad config changes
// nothing: every pipeline keeps running and the error is recorded and
// logged, one record per error.
func (d *Daemon) Reload(ctx context.Context) ReloadStatus { return d.reload(ctx, true) }

// reload is Reload; logErrors false leaves printing the config errors to
// the caller (Watch's onReload), so they are not printed twice.
func (d *Daemon) reload(ctx context.Context, logErrors bool) ReloadStatus {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	st := ReloadStatus{At: d.cfg.Clock.Now()}
	built, errs := load(d.cfg)
	if len(errs) > 0 {
		st.Error = errs.Error()
		unique := errs.Unique()
		d.cfg.Logger.Error("reload rejected; pipelines unchanged", "errors", len(unique))
		for _, e := range unique {
			if !logErrors {
				break
			}
			d.cfg.Logger.Error("config error", "error", e.Error())
		}
	} else {
		st.OK = true
		if err := soc.SyncHolds(ctx, d.store, built); err != nil {
			d.cfg.Logger.Error("pausing pipelines without callback URL", "error", err)
		}
		st.Result = d.runtime.Apply(ctx, built)
		d.logWebhookURLs(built, append(st.Result.Started, st.Result.Replaced...))
		d.cfg.Logger.Info("reloaded", "started", st.Result.Started, "replaced", st.Result.Replaced, "stopped", st.Result.Stopped)
	}
	d.setReload(st)
	return st
}

func (d *Daemon) setReload(st ReloadStatus) {
	d.statusMu.Lock()
	d.lastReload = st
	d.statusMu.Unlock()
	d.metrics.ObserveReload(st.OK, st.At)
}

// ReloadStatus is the last reload's outcome.
func (d *Daemon) ReloadStatus() ReloadStatus {
	d.statusMu.Lock()
	defer d.statusMu.Unlock()
	return d.lastReload
}

// Shutdown stops in flow order: listeners stop accepting and finish the
// requests in flight (whose events are stored), sources stop, deliveries in
// flight drain within ctx, and the store closes.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.admin.Close()
	d.closeListeners(ctx)
	d.runtime.Shutdown(ctx)
	d.leave(ctx)
	return d.store.Close()
}

// ReplicaID is this replica's id.
func (d *Daemon) ReplicaID() string { return d.cfg.ReplicaID }

// DefaultReplicaID is the host name and a random suffix, so that two
// replicas on one host (or a restarted one) differ.
func DefaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "connectord"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// SharedLeaseTTL is the lease TTL on a NATS store: a delivery attempt
// must end within a partition lease's TTL less its margin (a fifth), so
// the HTTP sink's default 10s timeout needs more than 10s.
const SharedLeaseTTL = 15 * time.Second

// coordinator is the lease coordinator: cfg's, the KV bucket next to a
// NATS store, or a Local one for the single process of a bolt store.
func coordinator(ctx context.Context, cfg Config, st store.Store) (cluster.Coordinator, error) {
	ttl := cfg.LeaseTTL
	if ttl <= 0 {
		ttl = runner.DefaultLeaseTTL
	}
	if cfg.Coordinator != nil {
		return cfg.Coordinator, nil
	}
	ns, ok := st.(*natsstore.Store)
	if !ok {
		return cluster.NewLocal(ttl, nil), nil
	}
	if cfg.LeaseTTL <= 0 {
		ttl = SharedLeaseTTL
	}
	c, err := natskv.New(ctx, ns.Conn(), natskv.Options{TTL: ttl, Replicas: ns.Info().Replicas})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", cfg.Store, err)
	}
	return c, nil
}

// announce holds this replica's member lease under a holder unique to this
// process (cluster.MemberHolder), so that the lease of a live replica with
// the same id is never shared: it is waited for up to one TTL (the lease of
// a crashed replica restarted with a fixed id runs out), then refused. The
// lease is then kept (renewed, re-acquired) with life as its context.
func announce(ctx, life context.Context, c cluster.Coordinator, id string) (*cluster.Held, error) {
	holder := cluster.MemberHolder(id, incarnation())
	deadline := time.Now().Add(c.TTL() + c.TTL()/4)
	for {
		h, err := cluster.TryHold(life, c, cluster.MemberLease(id), holder, cluster.HoldOptions{})
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, cluster.ErrHeld) {
			return nil, fmt.Errorf("announcing replica %s: %w", id, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("--replica-id %s: another replica with this id is running", id)
		}
		t := time.NewTimer(c.TTL() / 10)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// incarnation names this process among replicas that share an id.
func incarnation() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keepMember keeps the member lease h until ctx ends, then releases it. A
// lease lost (the coordinator unreachable past its TTL) is acquired again,
// under the same holder, so the replica shows among the members once the
// coordinator is back.
func (d *Daemon) keepMember(ctx context.Context, c cluster.Coordinator, h *cluster.Held) {
	defer close(d.memberDone)
	id := d.cfg.ReplicaID
	holder := h.Lease().Holder
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := h.Release(rctx); err != nil && !errors.Is(err, cluster.ErrLost) {
				d.cfg.Logger.Warn("leaving the cluster", "replica", id, "error", err)
			}
			return
		case <-h.Lost():
			d.cfg.Logger.Warn("member lease lost; announcing this replica again", "replica", id)
			next, err := cluster.Hold(ctx, c, cluster.MemberLease(id), holder, cluster.HoldOptions{})
			if err != nil {
				return // ctx ended
			}
			h = next
		}
	}
}

func (d *Daemon) leave(context.Context) {
	if d.memberStop == nil {
		return
	}
	d.memberStop()
	<-d.memberDone
	d.memberStop = nil
}

func (d *Daemon) closeListeners(ctx context.Context) {
	var wg sync.WaitGroup
	for _, srv := range d.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		}()
	}
	wg.Wait()
}

func closeAll(built []*runner.Built) {
	for _, b := range built {
		for _, c := range []any{b.Source, b.Sink} {
			if cl, ok := c.(io.Closer); ok {
				_ = cl.Close()
			}
		}
	}
}

// PublicBase is the base URL of webhook URLs.
func (d *Daemon) PublicBase() string { return soc.PublicBase(d.cfg.PublicURL, d.addrs["listen"]) }

// logWebhookURLs logs the Webhook URL of each webhook pipeline of built
// (only those named in only, unless only is nil): what to paste into the
// Intercom app's Webhooks page.
func (d *Daemon) logWebhookURLs(built []*runner.Built, only []string) {
	for _, b := range built {
		hs, ok := b.Source.(engine.HTTPSource)
		if !ok || (only != nil && !slices.Contains(only, b.Name())) {
			continue
		}
		d.cfg.Logger.Info("webhook URL: paste it into the Intercom app's Webhooks page", "pipeline", b.Name(), "url", d.PublicBase()+hs.Path())
	}
}
