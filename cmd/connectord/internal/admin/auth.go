package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// auth requires the token on every path but /healthz when one is set,
// including routes added by Deps.Mount (dead letters, the SAP Open
// Connectors /instances API). It takes "Authorization: Bearer <token>"
// (scripts, Prometheus, the CLI), HTTP Basic with the token as password (a
// browser opening the page), or, where Authorization carries other
// credentials (the /instances API's "User …, Organization …"), a "Bearer
// <token>" part of that list or an X-Connectord-Token header.
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

// TokenHeader carries the admin token when Authorization holds other
// credentials.
const TokenHeader = "X-Connectord-Token"

func matches(r *http.Request, want [32]byte) bool {
	got, ok := presented(r)
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// presented finds the token the request offers.
func presented(r *http.Request) (string, bool) {
	if v := r.Header.Get(TokenHeader); v != "" {
		return v, true
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return pw, true
	}
	for part := range strings.SplitSeq(r.Header.Get("Authorization"), ",") {
		part = strings.TrimSpace(part)
		if len(part) > 7 && strings.EqualFold(part[:7], "bearer ") {
			return strings.TrimSpace(part[7:]), true
		}
	}
	return "", false
}
