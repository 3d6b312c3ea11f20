package natsstore

import (
	"crypto/tls"
	"time"
)

// Options configures Open. The zero value of each field means its default.
type Options struct {
	// Servers are the NATS URLs ("nats://h1:4222,nats://h2:4222" split at
	// commas is fine too).
	Servers []string
	// Stream is the JetStream stream holding the store (default CONNECTORD).
	// Two deployments on one cluster use two streams.
	Stream string
	// Replicas is the stream's replica count (default 3). Open creates the
	// stream with it and refuses an existing stream with another count.
	Replicas int
	// CredsFile is a NATS credentials file (user JWT and NKey seed).
	CredsFile string
	// TLS, when set, is the client TLS configuration (CA, client cert).
	TLS *tls.Config
	// Name is the client connection name shown by the server (default
	// "connectord").
	Name string
	// ConnectTimeout bounds Open's connection and checks (default 10s).
	ConnectTimeout time.Duration
	// CommitTimeout bounds the wait for one batch's acknowledgement
	// (default 10s).
	CommitTimeout time.Duration
	// MaxBatch caps the messages of one atomic batch (default 1000, the
	// server's default max_batch_size).
	MaxBatch int
	// Now is the time source for Record.Stored (tests fix it).
	Now func() time.Time
}

type options struct {
	stream        string
	replicas      int
	connect       time.Duration
	commitTimeout time.Duration
	maxBatch      int
}

func (o Options) resolve() options {
	r := options{stream: o.Stream, replicas: o.Replicas, connect: o.ConnectTimeout, commitTimeout: o.CommitTimeout, maxBatch: o.MaxBatch}
	if r.stream == "" {
		r.stream = DefaultStream
	}
	if r.replicas <= 0 {
		r.replicas = 3
	}
	if r.connect <= 0 {
		r.connect = 10 * time.Second
	}
	if r.commitTimeout <= 0 {
		r.commitTimeout = 10 * time.Second
	}
	if r.maxBatch <= 0 || r.maxBatch > 1000 {
		r.maxBatch = 1000
	}
	return r
}

// DefaultStream is the stream name used when Options.Stream is empty.
const DefaultStream = "CONNECTORD"
