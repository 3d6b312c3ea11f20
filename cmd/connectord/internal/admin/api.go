package admin

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/sealed"
)

// Pipeline is one pipeline as the status API, the page and `connectord
// status` show it: the runtime's view, what the store holds for it, and
// rates from the admin's samples.
type Pipeline struct {
	Name        string    `json:"name"`
	State       string    `json:"state"` // running | degraded | paused | failed | removed
	StateDetail string    `json:"state_detail,omitempty"`
	File        string    `json:"file,omitempty"`
	Hash        string    `json:"hash,omitempty"`
	Generation  uint64    `json:"generation,omitempty"`
	Started     time.Time `json:"started,omitzero"`
	Source      string    `json:"source,omitempty"`
	Sink        string    `json:"sink,omitempty"`
	Path        string    `json:"path,omitempty"`
	// WebhookURL is Path under the public base: what to paste into the
	// Intercom app's Webhooks page.
	WebhookURL string `json:"webhook_url,omitempty"`

	Reload PipelineReload `json:"reload"`

	// Poller is the replica holding the pipeline's poll lease (a polling
	// source runs only there), and since when; nil for webhook pipelines
	// or while no replica holds it.
	Poller *LeaseHolder `json:"poller,omitempty"`
	// Partitions, when replicas share delivery, are the pipeline's
	// delivery partitions this replica delivers, and since when.
	Partitions *runner.PartitionStatus `json:"partitions,omitempty"`

	Cursors    []Cursor  `json:"cursors,omitempty"`
	LagSeconds *float64  `json:"lag_seconds,omitempty"` // the largest cursor lag
	LastPoll   time.Time `json:"last_poll,omitzero"`

	Queued           int       `json:"queued"`
	OldestQueued     time.Time `json:"oldest_queued,omitzero"`
	OldestAgeSeconds float64   `json:"oldest_queued_age_seconds"`
	DeadLetters      int       `json:"dead_letters"`
	InFlight         int       `json:"in_flight"`
	WaitingRetry     int       `json:"waiting_retry"`
	// Window is how many queued records delivery holds in memory.
	Window int `json:"window"`
	// QueueBytes and the limits are the runtime's count of the queue
	// against max_queue_events and max_queue_bytes.
	QueueBytes     int64 `json:"queue_bytes"`
	MaxQueueEvents int64 `json:"max_queue_events,omitempty"`
	MaxQueueBytes  int64 `json:"max_queue_bytes,omitempty"`
	// Endpoint is the health of the sink endpoint (its circuit breaker).
	Endpoint *runner.EndpointStatus `json:"endpoint,omitempty"`

	LastError   string        `json:"last_error,omitempty"`
	LastErrorAt time.Time     `json:"last_error_at,omitzero"`
	Totals      runner.Totals `json:"totals"`
	Rates       Rates         `json:"rates"`
}

// Rates are per-minute averages over the last five minutes (or since the
// daemon started, if that is sooner, counting at least one minute).
type Rates struct {
	DeliveredPerMinute float64 `json:"delivered_per_minute"`
	FailedPerMinute    float64 `json:"failed_per_minute"`
	WindowSeconds      float64 `json:"window_seconds"`
}

// LeaseHolder is who holds a lease and since when.
type LeaseHolder struct {
	Replica string    `json:"replica"`
	Since   time.Time `json:"since"`
}

// Member is a live replica sharing the store.
type Member struct {
	Replica string    `json:"replica"`
	Since   time.Time `json:"since"`
}

// PipelinesResponse is the body of GET /api/pipelines.
type PipelinesResponse struct {
	// Replica is the id of the replica that answered; Members every live
	// replica sharing its store (itself included).
	Replica   string       `json:"replica,omitempty"`
	Members   []Member     `json:"members,omitempty"`
	Pipelines []Pipeline   `json:"pipelines"`
	Reload    ReloadStatus `json:"reload"`
	Now       time.Time    `json:"now"`
	// SecretsAtRest says whether OAuth tokens and instance secrets are
	// encrypted (CONNECTORD_SECRET_KEY).
	SecretsAtRest string `json:"secrets_at_rest,omitempty"`
}

// list builds every pipeline's view: running ones, and removed ones whose
// queue or dead letters are still on disk.
func (h *Handler) list(ctx context.Context) ([]Pipeline, error) {
	now := h.now()
	reload := h.reload()
	running := h.d.Runtime.Status()
	seen := map[string]bool{}
	statuses := make([]runner.PipelineStatus, 0, len(running))
	for _, st := range running {
		seen[st.Name] = true
		statuses = append(statuses, st)
	}
	names, err := h.d.Store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !seen[n] {
			statuses = append(statuses, runner.PipelineStatus{
				Name: n, State: StateRemoved, Totals: h.d.Runtime.Counters(n).Snapshot(),
			})
		}
	}
	polls := h.pollers(ctx)
	out := make([]Pipeline, 0, len(statuses))
	for _, st := range statuses {
		p, err := h.view(ctx, st, reload, now)
		if err != nil {
			return nil, err
		}
		p.Poller = polls[runner.PollLease(st.Name)]
		if p.State == StateRemoved && p.Queued == 0 && p.DeadLetters == 0 {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (h *Handler) view(ctx context.Context, st runner.PipelineStatus, reload ReloadStatus, now time.Time) (Pipeline, error) {
	state, detail := classify(st)
	p := Pipeline{
		Name: st.Name, State: state, StateDetail: detail,
		File: st.File, Hash: st.Hash, Generation: st.Generation, Started: st.Started,
		Source: st.Source, Sink: st.Sink, Path: st.Path, WebhookURL: h.webhookURL(st.Path),
		InFlight: st.Delivery.InFlight, WaitingRetry: st.Delivery.Waiting, Window: st.Delivery.Window,
		QueueBytes: st.Queue.Bytes, MaxQueueEvents: st.Queue.MaxEvents, MaxQueueBytes: st.Queue.MaxBytes,
		LastError: st.LastError, LastErrorAt: st.LastErrAt,
		Totals: st.Totals, Partitions: st.Partitions,
		Rates: h.history.rates(st.Name, st.Totals, now),
	}
	if state != StateRemoved {
		p.Reload = reload.forPipeline(st.Name, st.File)
		ep := st.Endpoint
		p.Endpoint = &ep
	}
	s, err := h.d.Store.Stats(ctx, st.Name)
	if err != nil {
		return p, err
	}
	p.Queued, p.OldestQueued, p.DeadLetters = s.Queued, s.OldestQueue, s.DeadLetters
	if s.Queued > 0 && !s.OldestQueue.IsZero() {
		p.OldestAgeSeconds = max(0, now.Sub(s.OldestQueue).Seconds())
	}
	f, err := readFreshness(ctx, h.d.Store, st.Name, now)
	if err != nil {
		return p, err
	}
	p.Cursors, p.LastPoll = f.Cursors, f.LastPoll
	if lag, ok := f.maxLag(); ok {
		p.LagSeconds = &lag
	}
	return p, nil
}

// pollers maps poll lease names to their holders, as the coordinator
// lists them (empty if it cannot list or does not answer: status still
// shows the rest).
func (h *Handler) pollers(ctx context.Context) map[string]*LeaseHolder {
	out := map[string]*LeaseHolder{}
	l, ok := h.d.Runtime.Coordinator().(cluster.Lister)
	if !ok {
		return out
	}
	ls, err := l.Leases(ctx, "")
	if err != nil {
		return out
	}
	for _, x := range ls {
		if strings.HasSuffix(x.Name, "/poll") {
			out[x.Name] = &LeaseHolder{Replica: x.Holder, Since: x.Since}
		}
	}
	return out
}

// members lists the live replicas (nil if the coordinator cannot say).
func (h *Handler) members(ctx context.Context) []Member {
	ms, err := cluster.Members(ctx, h.d.Runtime.Coordinator())
	if err != nil {
		return nil
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, Member{Replica: m.Holder, Since: m.Since})
	}
	return out
}

func (h *Handler) pipelines(w http.ResponseWriter, r *http.Request) {
	ps, err := h.list(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	resp := PipelinesResponse{
		Replica: h.d.Runtime.ReplicaID(), Members: h.members(r.Context()),
		Pipelines: ps, Reload: h.reload(), Now: h.now(),
	}
	if ring, err := sealed.Default(); err == nil {
		resp.SecretsAtRest = ring.Describe()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) pipeline(w http.ResponseWriter, r *http.Request) {
	ps, err := h.list(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	name := r.PathValue("name")
	for _, p := range ps {
		if p.Name == name {
			writeJSON(w, http.StatusOK, p)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no pipeline named " + strconv.Quote(name)})
}
