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
		out[strings.ToLower(name)] = vals[0]
	}
	return out
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
