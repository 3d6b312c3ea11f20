package runner

import (
	"sort"
	"sync"
	"time"
)

// Breaker is the circuit breaker kept per sink endpoint. It is not a
// pipeline option: an operator tunes the retry schedule of events, not of
// the breaker, and a probe every few seconds costs a down receiver nothing.
// Tests shorten it through Options.
type Breaker struct {
	// TripAfter consecutive retryable failures (5xx, 408, 429, network),
	// across at least two objects and with no success in between, mark the
	// endpoint down. One object failing on its own never trips it.
	TripAfter int
	// ProbeInitial and ProbeMax bound the probe schedule while down:
	// doubling from ProbeInitial, capped at ProbeMax. The cap is what bounds
	// recovery: the backlog flows at most ProbeMax after the receiver is back.
	ProbeInitial, ProbeMax time.Duration
}

// DefaultBreaker trips after 10 failures and probes at 1s, 2s, 4s, 8s, then
// every 10s.
var DefaultBreaker = Breaker{TripAfter: 10, ProbeInitial: time.Second, ProbeMax: 10 * time.Second}

// endpoint is the health of one sink endpoint, shared by the deliverers of
// every pipeline that delivers there. While it is down no deliverer
// dispatches anything but one probe at a time, and per-event retry timers
// do not run: events are not attempted, so their attempts do not count. The
// first probe that gets an answer other than a retryable failure brings it
// up and wakes every deliverer, which makes all its waiting heads due.
type endpoint struct {
	name string
	cfg  Breaker

	mu          sync.Mutex
	down        bool
	since       time.Time // of the current state; zero: up since start
	lastError   string
	lastErrorAt time.Time
	consecutive int    // retryable failures since the last success
	firstKey    string // the object of the first of them
	manyKeys    bool   // they span more than one object
	probes      int    // failed probes since down
	nextProbe   time.Time
	probing     bool
	trips       uint64
	subs        map[chan struct{}]struct{}
}

// EndpointStatus is a snapshot of an endpoint's breaker.
type EndpointStatus struct {
	Endpoint string `json:"endpoint"`
	// State is "up" or "down".
	State string    `json:"state"`
	Since time.Time `json:"since,omitzero"`
	// ConsecutiveFailures are retryable failures since the last success.
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastError           string    `json:"last_error,omitempty"`
	LastErrorAt         time.Time `json:"last_error_at,omitzero"`
	NextProbe           time.Time `json:"next_probe,omitzero"`
	// Trips counts up → down transitions since the daemon started.
	Trips uint64 `json:"trips"`
}

func (e *endpoint) status() EndpointStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := EndpointStatus{Endpoint: e.name, State: "up", Since: e.since, ConsecutiveFailures: e.consecutive,
		LastError: e.lastError, LastErrorAt: e.lastErrorAt, Trips: e.trips}
	if e.down {
		st.State = "down"
		st.NextProbe = e.nextProbe
	}
	return st
}

func (e *endpoint) isDown() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.down
}

// subscribe registers a deliverer's wake channel, signalled when the
// endpoint comes up.
func (e *endpoint) subscribe(c chan struct{}) {
	e.mu.Lock()
	e.subs[c] = struct{}{}
	e.mu.Unlock()
}

func (e *endpoint) unsubscribe(c chan struct{}) {
	e.mu.Lock()
	delete(e.subs, c)
	e.mu.Unlock()
}

// answered records an attempt the receiver answered without a retryable
// failure (2xx, or a 4xx: it is alive). It reports whether this brought the
// endpoint up.
func (e *endpoint) answered(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.consecutive, e.firstKey, e.manyKeys = 0, "", false
	e.probing = false
	if !e.down {
		return false
	}
	e.down, e.since, e.probes = false, now, 0
	for c := range e.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	return true
}

// failed records a retryable failure of an ordinary attempt for object key
// and reports whether it tripped the breaker.
func (e *endpoint) failed(key, msg string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastError, e.lastErrorAt = msg, now
	if e.down {
		return false
	}
	if e.consecutive == 0 {
		e.firstKey = key
	} else if key != e.firstKey {
		e.manyKeys = true
	}
	e.consecutive++
	if e.consecutive < e.cfg.TripAfter || !e.manyKeys {
		return false
	}
	e.down, e.since, e.probes, e.probing = true, now, 0, false
	e.nextProbe = now.Add(e.cfg.ProbeInitial)
	e.trips++
	return true
}

// probeFailed schedules the next probe after a failed one. A Retry-After
// longer than the schedule is honoured up to ProbeMax.
func (e *endpoint) probeFailed(msg string, retryAfter time.Duration, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastError, e.lastErrorAt = msg, now
	e.consecutive++
	e.probing = false
	e.probes++
	delay := e.cfg.ProbeMax
	if e.probes < 16 {
		delay = min(e.cfg.ProbeInitial<<e.probes, e.cfg.ProbeMax)
	}
	if retryAfter > delay {
		delay = min(retryAfter, e.cfg.ProbeMax)
	}
	e.nextProbe = now.Add(delay)
}

// probeAborted frees the probe slot without counting (shutdown).
func (e *endpoint) probeAborted() {
	e.mu.Lock()
	e.probing = false
	e.mu.Unlock()
}

// claimProbe takes the endpoint's single probe slot if it is down and the
// probe is due. It returns false and the wait otherwise (0 when up).
func (e *endpoint) claimProbe(now time.Time) (bool, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.down {
		return false, 0
	}
	if e.probing {
		return false, e.cfg.ProbeMax
	}
	if wait := e.nextProbe.Sub(now); wait > 0 {
		return false, wait
	}
	e.probing = true
	return true, 0
}

// probeWait is how long until the next probe may go (ProbeMax while one is
// out: its outcome wakes nobody, so look again then).
func (e *endpoint) probeWait(now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.probing {
		return e.cfg.ProbeMax
	}
	return max(0, e.nextProbe.Sub(now))
}

// endpoints is the runtime's breakers by endpoint name.
type endpoints struct {
	cfg Breaker
	mu  sync.Mutex
	m   map[string]*endpoint
}

func (es *endpoints) get(name string) *endpoint {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.m == nil {
		es.m = map[string]*endpoint{}
	}
	e := es.m[name]
	if e == nil {
		e = &endpoint{name: name, cfg: es.cfg, subs: map[chan struct{}]struct{}{}}
		es.m[name] = e
	}
	return e
}

// Endpoints reports every endpoint's breaker, sorted by name.
func (r *Runtime) Endpoints() []EndpointStatus {
	r.endpoints.mu.Lock()
	eps := make([]*endpoint, 0, len(r.endpoints.m))
	for _, e := range r.endpoints.m {
		eps = append(eps, e)
	}
	r.endpoints.mu.Unlock()
	out := make([]EndpointStatus, 0, len(eps))
	for _, e := range eps {
		out = append(out, e.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}
