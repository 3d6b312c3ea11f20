package fleet

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/connectord/connectord/sinks/httpsink"
)

// Delivery is one callback the receiver answered.
type Delivery struct {
	Replica  string // from the callback path /events/<replica>
	EventID  string // message.eventId
	Pipeline string // message.instanceName
	Type     string // events[0].objectType
	Object   string // events[0].objectId
	Event    string // events[0].eventType
	Raw      json.RawMessage
	Valid    bool // the Elements-Webhook-Signature matched
	Status   int  // what the receiver answered
	At       time.Time
}

// Receiver is a callback endpoint for pipelines with an elements
// signature: POST /events/<replica>. It answers 200, or 503 to every
// FailEvery-th callback so that retries happen under load, and keeps every
// callback in arrival order.
type Receiver struct {
	Key []byte
	// FailEvery makes every n-th callback fail with 503 (0: never).
	FailEvery int
	// OnDelivery, if set, is called with each callback after it is
	// recorded (the demo prints it).
	OnDelivery func(Delivery)
	// Forget keeps counts only, not every Delivery (a long-running demo).
	Forget bool

	mu    sync.Mutex
	n     int
	log   []Delivery
	byRep map[string]int
	bad   int
}

var _ http.Handler = (*Receiver)(nil)

// ReadCallback reads one connectord callback: its envelope's eventId,
// instanceName and first event, and whether its Elements-Webhook-Signature
// matches key. A body that is not an envelope shows as empty fields.
func ReadCallback(key []byte, req *http.Request) (Delivery, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
	if err != nil {
		return Delivery{}, err
	}
	var env struct {
		Message struct {
			EventID      string `json:"eventId"`
			InstanceName string `json:"instanceName"`
			Events       []struct {
				ObjectType, ObjectID, EventType string
			} `json:"events"`
			Raw json.RawMessage `json:"raw"`
		} `json:"message"`
	}
	_ = json.Unmarshal(body, &env)
	d := Delivery{
		EventID: env.Message.EventID, Pipeline: env.Message.InstanceName, Raw: env.Message.Raw, At: time.Now(),
		Valid: hmac.Equal([]byte(httpsink.SignElements(key, body)), []byte(req.Header.Get("Elements-Webhook-Signature"))),
	}
	if len(env.Message.Events) > 0 {
		e := env.Message.Events[0]
		d.Type, d.Object, d.Event = e.ObjectType, e.ObjectID, e.EventType
	}
	return d, nil
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	d, err := ReadCallback(r.Key, req)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	d.Replica = strings.TrimPrefix(req.URL.Path, "/events/")
	r.mu.Lock()
	r.n++
	d.Status = http.StatusOK
	if r.FailEvery > 0 && r.n%r.FailEvery == 0 {
		d.Status = http.StatusServiceUnavailable
	}
	if !r.Forget {
		r.log = append(r.log, d)
	}
	if r.byRep == nil {
		r.byRep = map[string]int{}
	}
	r.byRep[d.Replica]++
	if !d.Valid {
		r.bad++
	}
	r.mu.Unlock()
	if r.OnDelivery != nil {
		r.OnDelivery(d)
	}
	w.WriteHeader(d.Status)
}

// Deliveries is every callback so far, in arrival order.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.log...)
}

// Count is the number of callbacks so far.
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Counts is the number of callbacks per replica and of those with a bad
// signature.
func (r *Receiver) Counts() (perReplica map[string]int, badSignature int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.byRep))
	for k, v := range r.byRep {
		out[k] = v
	}
	return out, r.bad
}
