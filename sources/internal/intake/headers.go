package intake

import (
	"net/http"
	"strings"
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
		out[lowerName(name)] = vals[0]
	}
	return out
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
