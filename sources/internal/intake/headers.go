package intake

import (
	"net/http"
	"strings"
	"sync"
)

// alwaysDropped are request headers that carry credentials of the sender or
// of someone in between; they never reach $meta or the store.
var alwaysDropped = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// CaptureHeaders returns h for $meta.headers: lower-case name → first value,
// without credentials and without the named extra headers (the signature).
func CaptureHeaders(h http.Header, drop ...string) map[string]any {
	out := make(map[string]any, len(h))
	for name, vals := range h {
		if len(vals) == 0 || dropped(name, drop) {
			continue
		}
		out[lowerName(name)] = boxHeader(name, vals[0])
	}
	return out
}

// repeatedHeaders take few distinct values across requests (the sender's
// software and its encodings): their values are boxed once and shared,
// where boxing each was an allocation per header per request.
var repeatedHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Content-Type": true, "User-Agent": true,
	"Connection": true, "X-Forwarded-Proto": true,
}

// headerBoxes are the shared boxes, at most maxHeaderBoxes of values at
// most maxHeaderBox bytes long: a sender varying them costs a box each,
// as before, never memory without bound.
var headerBoxes struct {
	mu sync.RWMutex
	m  map[string]any
}

const (
	maxHeaderBoxes = 256
	maxHeaderBox   = 256
)

func boxHeader(name, v string) any {
	if !repeatedHeaders[name] || len(v) > maxHeaderBox {
		return v
	}
	headerBoxes.mu.RLock()
	b, ok := headerBoxes.m[v]
	headerBoxes.mu.RUnlock()
	if ok {
		return b
	}
	headerBoxes.mu.Lock()
	defer headerBoxes.mu.Unlock()
	if headerBoxes.m == nil {
		headerBoxes.m = make(map[string]any)
	}
	if len(headerBoxes.m) < maxHeaderBoxes {
		v = strings.Clone(v) // not the request's memory
		headerBoxes.m[v] = v
	}
	return v
}

// lowerNames are the lower-case forms of the header names webhooks
// usually carry, so capturing them allocates no new name per request.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"Accept", "Accept-Encoding", "Content-Length", "Content-Type", "User-Agent",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip",
		"X-Request-Id", "Traceparent", "Tracestate", "Connection",
		"X-Hub-Signature", "X-Intercom-Webhook-Id", "X-Intercom-Request-Id",
	} {
		m[n] = strings.ToLower(n)
	}
	return m
}()

func lowerName(name string) string {
	if l, ok := lowerNames[name]; ok {
		return l
	}
	return strings.ToLower(name)
}

func dropped(name string, extra []string) bool {
	for _, d := range alwaysDropped {
		if strings.EqualFold(name, d) {
			return true
		}
	}
	for _, d := range extra {
		if strings.EqualFold(name, d) {
			return true
		}
	}
	return false
}
