package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// receiver verifies each callback's signature and counts eventIds.
type receiver struct {
	mu            sync.Mutex
	seen          map[string]int
	bodyBytes     int64 // of the first delivery of each eventId
	badSignatures int
	last          time.Time
	changed       chan struct{}
	srv           *http.Server
	url           string
	delay         time.Duration // simulated work per callback

	down       atomic.Bool // answer 503 to everything (an outage)
	downCalls  atomic.Int64
	lastSeen   map[string]int // objectId → highest notification number delivered
	inversions int            // first deliveries older than one already delivered for the object
}

func startReceiver(delay time.Duration) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{seen: map[string]int{}, lastSeen: map[string]int{}, changed: make(chan struct{}, 1), delay: delay}
	r.srv = &http.Server{Handler: r}
	r.url = "http://" + ln.Addr().String() + "/callback"
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.down.Load() {
		r.downCalls.Add(1)
		io.Copy(io.Discard, req.Body)
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	m := hmac.New(sha256.New, []byte(signatureKey))
	m.Write(body)
	want := "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	ok := hmac.Equal([]byte(want), []byte(req.Header.Get("Elements-Webhook-Signature")))
	var env struct {
		Message struct {
			EventID string `json:"eventId"`
			Events  []struct {
				ObjectID string `json:"objectId"`
			} `json:"events"`
			Raw struct {
				ID string `json:"id"`
			} `json:"raw"`
		} `json:"message"`
	}
	_ = json.Unmarshal(body, &env)
	if r.delay > 0 {
		time.Sleep(r.delay) // the receiver's own work: a database write, a call onwards
	}
	r.mu.Lock()
	if !ok || env.Message.EventID == "" || env.Message.EventID != req.Header.Get("Elements-Webhook-Id") {
		r.badSignatures++
	} else {
		r.seen[env.Message.EventID]++
		if r.seen[env.Message.EventID] == 1 {
			r.bodyBytes += int64(len(body))
		}
		if r.seen[env.Message.EventID] == 1 && len(env.Message.Events) > 0 {
			var i int
			if _, err := fmt.Sscanf(env.Message.Raw.ID, "notif_bench_%d", &i); err == nil {
				obj := env.Message.Events[0].ObjectID
				if last, ok := r.lastSeen[obj]; ok && last > i {
					r.inversions++
				} else {
					r.lastSeen[obj] = i
				}
			}
		}
	}
	r.last = time.Now()
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *receiver) counts() (unique, dups, bad int, last time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.seen {
		unique++
		dups += c - 1
	}
	return unique, dups, r.badSignatures, r.last
}

// meanBody is the mean size of the callback bodies received (one per
// eventId): the size of the record connectord stores for an event.
func (r *receiver) meanBody() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return 0
	}
	return float64(r.bodyBytes) / float64(len(r.seen))
}

func (r *receiver) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id] > 0
}

// waitFor waits until n unique events arrived or timeout passes.
func (r *receiver) waitFor(n int, timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if u, _, _, _ := r.counts(); u >= n {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			return
		}
	}
}

func (r *receiver) close() { r.srv.Close() }
