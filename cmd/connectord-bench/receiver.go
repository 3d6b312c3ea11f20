package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// receiver verifies each callback's signature and counts eventIds.
type receiver struct {
	mu            sync.Mutex
	seen          map[string]int
	badSignatures int
	last          time.Time
	changed       chan struct{}
	srv           *http.Server
	url           string
	delay         time.Duration // simulated work per callback
}

func startReceiver(delay time.Duration) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{seen: map[string]int{}, changed: make(chan struct{}, 1), delay: delay}
	r.srv = &http.Server{Handler: r}
	r.url = "http://" + ln.Addr().String() + "/callback"
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
