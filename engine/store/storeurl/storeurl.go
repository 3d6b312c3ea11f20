// Package storeurl opens the store a --store value names, so that every
// command chooses its backend the same way:
//
//	bolt (or empty)                     the embedded bbolt file in the data dir (default)
//	nats://h1:4222[,h2:4222…][?opts]    the JetStream store on a NATS cluster
//	tls://h1:4222[,…][?opts]            the same over TLS
//
// with opts stream=NAME (default CONNECTORD) and replicas=N (default 3).
package storeurl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
)

// EnvVar is the environment variable that --store defaults to.
const EnvVar = "CONNECTORD_STORE"

// Spec is a store choice: --store and the options that go with it.
type Spec struct {
	URL       string // --store: "", "bolt", "nats://…", "tls://…"
	DataDir   string // --data: the bolt file's directory
	NATSCreds string // --nats-creds: NATS credentials file
	TLSCA     string // --nats-tls-ca: CA certificates (PEM) to verify the servers
	TLSCert   string // --nats-tls-cert: client certificate (PEM)
	TLSKey    string // --nats-tls-key: client key (PEM)
	// Bolt are extra options for the bolt store (lock timeout).
	Bolt []store.Option
}

// IsBolt reports whether the spec names the embedded store.
func (s Spec) IsBolt() bool { return s.URL == "" || s.URL == "bolt" }

// BoltPath is the bolt file of the data dir.
func (s Spec) BoltPath() string { return filepath.Join(s.DataDir, "connectord.db") }

// String describes the store without secrets, for logs and messages.
func (s Spec) String() string {
	if s.IsBolt() {
		return "bolt:" + s.BoltPath()
	}
	return natsstore.Redact(s.URL)
}

// Open opens the store. A bolt file held by another process fails with an
// error wrapping store.ErrLocked; a NATS store runs its start-up checks.
func Open(ctx context.Context, s Spec) (store.Store, error) {
	if s.IsBolt() {
		if s.NATSCreds != "" || s.TLSCA != "" || s.TLSCert != "" || s.TLSKey != "" {
			return nil, fmt.Errorf("--nats-creds and --nats-tls-* need --store nats://…")
		}
		return store.Open(s.BoltPath(), s.Bolt...)
	}
	o, err := s.NATSOptions()
	if err != nil {
		return nil, err
	}
	return natsstore.Open(ctx, o)
}

// NATSOptions parses a nats:// or tls:// spec.
func (s Spec) NATSOptions() (natsstore.Options, error) {
	var o natsstore.Options
	scheme, rest, ok := strings.Cut(s.URL, "://")
	if !ok || (scheme != "nats" && scheme != "tls") {
		return o, fmt.Errorf("--store %q: use bolt, nats://host:4222[,host2:4222…] or tls://…", natsstore.Redact(s.URL))
	}
	hosts, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return o, fmt.Errorf("--store %s: options: %w", natsstore.Redact(s.URL), err)
	}
	for k, v := range q {
		switch k {
		case "stream":
			o.Stream = v[len(v)-1]
		case "replicas":
			n, err := strconv.Atoi(v[len(v)-1])
			if err != nil || n < 1 || n > 5 {
				return o, fmt.Errorf("--store %s: replicas=%s: use 1 to 5", natsstore.Redact(s.URL), v[len(v)-1])
			}
			o.Replicas = n
		default:
			return o, fmt.Errorf("--store %s: unknown option %q (known: stream, replicas)", natsstore.Redact(s.URL), k)
		}
	}
	for h := range strings.SplitSeq(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, "://") {
			h = scheme + "://" + h
		}
		o.Servers = append(o.Servers, h)
	}
	if len(o.Servers) == 0 {
		return o, fmt.Errorf("--store %s: no server", natsstore.Redact(s.URL))
	}
	o.CredsFile = s.NATSCreds
	if scheme == "tls" || s.TLSCA != "" || s.TLSCert != "" {
		if o.TLS, err = s.tlsConfig(); err != nil {
			return o, err
		}
	}
	return o, nil
}

func (s Spec) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSCA != "" {
		pem, err := os.ReadFile(s.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("--nats-tls-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--nats-tls-ca %s: no PEM certificate in it", s.TLSCA)
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return nil, fmt.Errorf("--nats-tls-cert and --nats-tls-key go together")
	}
	if s.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--nats-tls-cert/--nats-tls-key: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
