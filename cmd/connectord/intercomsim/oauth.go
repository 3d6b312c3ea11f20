package intercomsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"
)

// Intercom's OAuth endpoints, served by the simulator on its own host:
// authorize is on app.intercom.com, the token exchange on api.intercom.io.
const (
	AuthorizePath = "/oauth"
	TokenPath     = "/auth/eagle/token"
)

// codeLifetime is how long an authorisation code stays valid; Intercom's
// expire after about five minutes.
const codeLifetime = 5 * time.Minute

// authorize serves GET /oauth?client_id=&state=&redirect_uri=: the
// simulated workspace admin approves at once, and the browser is sent to
// redirect_uri with a one-time code and the state, as Intercom does after
// the consent screen.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		writeError(w, http.StatusBadRequest, "parameter_invalid", "redirect_uri must be an absolute http(s) URL")
		return
	}
	if q.Get("client_id") == "" || (s.opts.ClientID != "" && q.Get("client_id") != s.opts.ClientID) {
		writeError(w, http.StatusBadRequest, "parameter_invalid", "unknown client_id")
		return
	}
	code := randomCode()
	s.mu.Lock()
	s.codes[code] = s.opts.Clock.Now().Add(codeLifetime)
	s.mu.Unlock()
	v := redirect.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token serves POST /auth/eagle/token (form fields code, client_id,
// client_secret): a code issued by authorize, used once before it
// expires, or any code with Options.AcceptAnyCode, is answered as Intercom
// answers: {"token", "access_token", "token_type": "Bearer"} carrying
// Options.Token, with no refresh token and no expiry.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "parameter_invalid", "the body is not a form")
		return
	}
	code, id, secret := r.PostForm.Get("code"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id == "" || secret == "" || (s.opts.ClientID != "" && id != s.opts.ClientID) ||
		(s.opts.ClientSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	s.mu.Lock()
	expires, issued := s.codes[code]
	delete(s.codes, code)
	now := s.opts.Clock.Now()
	s.mu.Unlock()
	if code == "" || (!s.opts.AcceptAnyCode && (!issued || now.After(expires))) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": s.opts.Token, "access_token": s.opts.Token, "token_type": "Bearer"})
}

func randomCode() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
