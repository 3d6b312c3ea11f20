// Package natstest runs real nats-servers in-process for tests and
// benchmarks of the JetStream store: one standalone server, or a cluster of
// n (client ports picked by the server, cluster ports chosen up front on
// 127.0.0.1, full routes, JetStream on, signals left alone).
package natstest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says what to start.
type Config struct {
	// Dir holds each server's JetStream store (a subdirectory per server).
	Dir string
	// Servers is the number of servers: 1 starts a standalone server, more
	// start a cluster.
	Servers int
	// SyncAlways fsyncs every write, as production configs should
	// (sync_interval: always); off, the servers sync every 2 minutes.
	SyncAlways bool
	// ReadyTimeout bounds the wait for the servers and the JetStream meta
	// leader (default 30s).
	ReadyTimeout time.Duration
}

// Cluster is a running set of servers.
type Cluster struct {
	cfg     Config
	opts    []*server.Options
	Servers []*server.Server
}

// Start starts the servers and waits until JetStream is ready on all of them.
func Start(cfg Config) (*Cluster, error) {
	if cfg.Servers <= 0 {
		cfg.Servers = 1
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	c := &Cluster{cfg: cfg}
	var routes []*url.URL
	var ports []int
	if cfg.Servers > 1 {
		var err error
		if ports, err = freePorts(cfg.Servers); err != nil {
			return nil, err
		}
		for _, p := range ports {
			routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
		}
	}
	for i := range cfg.Servers {
		name := fmt.Sprintf("n%d", i+1)
		o := &server.Options{
			ServerName: name,
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(cfg.Dir, name),
			SyncAlways: cfg.SyncAlways,
			NoSigs:     true,
			NoLog:      true,
			MaxPayload: 1 << 20,
		}
		if cfg.Servers > 1 {
			o.Cluster = server.ClusterOpts{Name: "cd-test", Host: "127.0.0.1", Port: ports[i]}
			o.Routes = routes
		}
		c.opts = append(c.opts, o)
	}
	for i := range c.opts {
		s, err := server.NewServer(c.opts[i])
		if err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("natstest: server %s: %w", c.opts[i].ServerName, err)
		}
		c.Servers = append(c.Servers, s)
		s.Start()
	}
	if err := c.WaitReady(); err != nil {
		c.Shutdown()
		return nil, err
	}
	// A restarted server keeps its client port, so clients find it again.
	for i, s := range c.Servers {
		c.opts[i].Port = s.Addr().(*net.TCPAddr).Port
	}
	return c, nil
}

// WaitReady polls until every running server accepts clients and, in a
// cluster, JetStream has a meta leader that every server follows.
func (c *Cluster) WaitReady() error {
	deadline := time.Now().Add(c.cfg.ReadyTimeout)
	for _, s := range c.Servers {
		if s == nil {
			continue
		}
		if !s.ReadyForConnections(time.Until(deadline)) {
			return fmt.Errorf("natstest: server %s not ready within %s", s.Name(), c.cfg.ReadyTimeout)
		}
	}
	for {
		if c.jetStreamReady() {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("natstest: JetStream has no meta leader (or a server is behind) after " + c.cfg.ReadyTimeout.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// jetStreamReady reports whether JetStream has a meta leader that every
// running server follows and that counts every running server as an online
// peer: until it does (a restarted node's stats take a moment to reach it),
// creating an R3 stream fails with "no suitable peers for placement".
func (c *Cluster) jetStreamReady() bool {
	running, leaderPeers := 0, -1
	for _, s := range c.Servers {
		if s == nil {
			continue
		}
		running++
		if !s.JetStreamEnabled() {
			return false
		}
		if len(c.Servers) == 1 {
			return true
		}
		if !s.JetStreamIsCurrent() {
			return false
		}
		if s.JetStreamIsLeader() {
			leaderPeers = len(s.JetStreamClusterPeers())
		}
	}
	return leaderPeers == running
}

// URLs is the comma-separated client URLs of the running servers.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Servers {
		if s != nil {
			urls = append(urls, s.ClientURL())
		}
	}
	return strings.Join(urls, ",")
}

// Stop shuts server i down (its store stays on disk).
func (c *Cluster) Stop(i int) {
	if s := c.Servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.Servers[i] = nil
	}
}

// Restart starts server i again on its store and client port, and waits for
// the cluster to be ready.
func (c *Cluster) Restart(i int) error {
	c.Stop(i)
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		return fmt.Errorf("natstest: restart %s: %w", c.opts[i].ServerName, err)
	}
	c.Servers[i] = s
	s.Start()
	return c.WaitReady()
}

// Shutdown stops every server.
func (c *Cluster) Shutdown() {
	for i := range c.Servers {
		c.Stop(i)
	}
}

// freePorts picks n free TCP ports on 127.0.0.1, holding all of them open
// until every one is chosen so that none is picked twice.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("natstest: pick a port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
