package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// auth requires the token on every path but /healthz when one is set. It
// takes "Authorization: Bearer <token>" (scripts, Prometheus, the CLI) or
// HTTP Basic with the token as password (a browser opening the page).
// Tokens are compared as hashes in constant time, so neither their content
// nor their length leaks through timing.
func (h *Handler) auth(next http.Handler) http.Handler {
	if h.d.Token == "" {
		return next
	}
	want := sha256.Sum256([]byte(h.d.Token.Reveal()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || matches(r, want) {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/" {
			w.Header().Set("WWW-Authenticate", `Basic realm="connectord admin; password: the admin token", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="connectord"`)
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token (Authorization: Bearer <CONNECTORD_ADMIN_TOKEN>)"})
	})
}

func matches(r *http.Request, want [32]byte) bool {
	var got string
	if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	} else if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		got = v[7:]
	} else {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}
