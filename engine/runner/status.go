package runner

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"

	"github.com/connectord/connectord/engine/cluster"
)

// hashSalt keys the hashes shown in status: the config hash covers secret
// values, and an unkeyed hash of a short secret could be brute-forced.
var hashSalt = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

func displayHash(h string) string {
	m := hmac.New(sha256.New, hashSalt)
	m.Write([]byte(h))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// PipelineStatus is what the status API reports about a running pipeline.
type PipelineStatus struct {
	Name  string `json:"name"`
	State string `json:"state"`
	File  string `json:"file"`
	// Hash identifies the running configuration: it changes when the
	// pipeline's effective config does. It is salted per process, because
	// the config it is computed over includes secrets.
	Hash       string         `json:"hash"`
	Generation uint64         `json:"generation"`
	Started    time.Time      `json:"started"`
	Source     string         `json:"source"`
	Sink       string         `json:"sink"`
	Path       string         `json:"path,omitempty"`
	Delivery   DeliveryStatus `json:"delivery"`
	// Endpoint is the health of the sink's endpoint (shared by every
	// pipeline delivering there).
	Endpoint  EndpointStatus `json:"endpoint"`
	Queue     QueueStatus    `json:"queue"`
	Totals    Totals         `json:"totals"`
	LastError string         `json:"last_error,omitempty"`
	LastErrAt time.Time      `json:"last_error_at,omitzero"`
	// Partitions, when delivery is shared by replicas, says which of the
	// pipeline's delivery partitions this replica delivers.
	Partitions *PartitionStatus `json:"partitions,omitempty"`
}

// PartitionStatus is a pipeline's delivery partitions on this replica.
type PartitionStatus struct {
	Count int               `json:"count"`
	Owned []cluster.Holding `json:"owned"`
}

// QueueStatus is the queue's size as the runtime counts it, against its
// limits.
type QueueStatus struct {
	Events    int64 `json:"events"`
	Bytes     int64 `json:"bytes"`
	MaxEvents int64 `json:"max_events"`
	MaxBytes  int64 `json:"max_bytes"`
}

// Totals is a snapshot of Counters.
type Totals struct {
	In           uint64 `json:"in"`
	Filtered     uint64 `json:"filtered"`
	Stored       uint64 `json:"stored"`
	Delivered    uint64 `json:"delivered"`
	Retried      uint64 `json:"retried"`
	DeadLettered uint64 `json:"dead_lettered"`
}

// Snapshot reads the counters.
func (c *Counters) Snapshot() Totals {
	return Totals{
		In: c.In.Load(), Filtered: c.Filtered.Load(), Stored: c.Stored.Load(),
		Delivered: c.Delivered.Load(), Retried: c.Retried.Load(), DeadLettered: c.DeadLettered.Load(),
	}
}

// Status reports every running pipeline, sorted by name.
func (r *Runtime) Status() []PipelineStatus {
	r.mu.Lock()
	gens := make([]*generation, 0, len(r.running))
	for _, g := range r.running {
		gens = append(gens, g)
	}
	r.mu.Unlock()
	out := make([]PipelineStatus, 0, len(gens))
	for _, g := range gens {
		c := r.Counters(g.name)
		st := PipelineStatus{
			Name:       g.name,
			State:      g.getState(),
			File:       g.built.Spec.File,
			Hash:       displayHash(g.built.Hash),
			Generation: g.number,
			Started:    g.started,
			Source:     g.built.Spec.Source.Kind,
			Sink:       g.built.Spec.Sink.Kind,
			Path:       g.built.Path(),
			Delivery:   g.deliverer.Status(),
			Endpoint:   g.deliverer.ep.status(),
			Totals:     c.Snapshot(),
		}
		if p := g.deliverer.parts; p != nil && p.owner != nil {
			st.Partitions = &PartitionStatus{Count: p.n, Owned: p.Holdings()}
			if st.Partitions.Owned == nil {
				st.Partitions.Owned = []cluster.Holding{}
			}
		}
		st.Queue.Events, st.Queue.Bytes = r.QueueSize(g.name)
		st.Queue.MaxEvents, st.Queue.MaxBytes = g.built.Spec.Queue.MaxEvents, g.built.Spec.Queue.MaxBytes
		if se := c.SourceError(); se != "" && st.State == "running" {
			st.State = "degraded: " + se
		}
		if st.Delivery.Paused != "" {
			st.State = "paused"
		}
		st.LastError, st.LastErrAt = c.LastError()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Files lists the files running pipelines read besides their pipeline
// files (jq_file), for the config watcher.
func (r *Runtime) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, g := range r.running {
		out = append(out, g.built.Files...)
	}
	sort.Strings(out)
	return out
}

// Running says whether a pipeline of that name is running.
func (r *Runtime) Running(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.running[name]
	return ok
}
