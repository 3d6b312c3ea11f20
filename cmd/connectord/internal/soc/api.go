package soc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/store"
)

// APIPrefix is where the Open Connectors API is mounted on the admin
// listener, so the documented curl examples work with only the host changed.
const APIPrefix = "/elements/api-v2/"

// Environment variables the API reads when APIConfig leaves them unset.
const (
	EnvUserSecret = "CONNECTORD_OC_USER_SECRET"
	EnvOrgSecret  = "CONNECTORD_OC_ORG_SECRET"
	EnvTokenURL   = "CONNECTORD_INTERCOM_TOKEN_URL"
	// EnvAuthorizeURL is Intercom's authorize page for the console's
	// "Connect Intercom" (DefaultAuthorizeURL).
	EnvAuthorizeURL = "CONNECTORD_INTERCOM_AUTHORIZE_URL"
)

// APIConfig configures the /instances API. Without both secrets the API is
// disabled and answers 403.
type APIConfig struct {
	UserSecret config.Secret // "User <secret>" in the authorization header
	OrgSecret  config.Secret // "Organization <secret>"
	TokenURL   string        // Intercom's token endpoint (DefaultTokenURL)
	// AuthorizeURL is Intercom's authorize page (DefaultAuthorizeURL).
	AuthorizeURL string
	HTTPClient   *http.Client // for the token exchange (http.DefaultClient)
}

// Deps is what the API needs from the daemon.
type Deps struct {
	APIConfig
	Store     store.Store
	ConfigDir string // pipeline files are written here
	DataDir   string // the secrets file lives here (WithSecrets)
	Env       config.Env
	Logger    *slog.Logger
	Now       func() time.Time
	// Reload, when set, is called after a file was written or removed, so
	// the change applies without waiting for a file watcher.
	Reload func(context.Context)
	// PublicURL is the base URL Intercom reaches --listen at, for the
	// Webhook URL of webhook instances (see PublicBase).
	PublicURL func() string
}

// Instances is the /elements/api-v2/instances service: the API handler (Handler) and the calls the console makes through the same code.
type Instances struct {
	d  Deps
	mu sync.Mutex // serialises creates and deletes (ids, names, files)
}

// NewAPI returns the handler for the /elements/api-v2/ routes.
func NewAPI(d Deps) http.Handler { return NewInstances(d).Handler() }

// NewInstances returns the instances service.
func NewInstances(d Deps) *Instances {
	if d.Env == nil {
		d.Env = func(string) (string, bool) { return "", false }
	}
	if d.UserSecret == "" {
		v, _ := d.Env(EnvUserSecret)
		d.UserSecret = config.Secret(v)
	}
	if d.OrgSecret == "" {
		v, _ := d.Env(EnvOrgSecret)
		d.OrgSecret = config.Secret(v)
	}
	if d.TokenURL == "" {
		d.TokenURL, _ = d.Env(EnvTokenURL)
	}
	if d.AuthorizeURL == "" {
		d.AuthorizeURL, _ = d.Env(EnvAuthorizeURL)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PublicURL == nil {
		d.PublicURL = func() string { return "" }
	}
	return &Instances{d: d}
}

// Handler serves the /elements/api-v2/ routes behind the Open Connectors
// authorization header.
func (a *Instances) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /elements/api-v2/instances", a.create)
	mux.HandleFunc("GET /elements/api-v2/instances", a.list)
	mux.HandleFunc("GET /elements/api-v2/instances/{id}", a.get)
	mux.HandleFunc("DELETE /elements/api-v2/instances/{id}", a.delete)
	mux.HandleFunc("PATCH /elements/api-v2/instances/{id}", a.update(false))
	mux.HandleFunc("PUT /elements/api-v2/instances/{id}", a.update(true))
	mux.HandleFunc("/elements/api-v2/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "connectord implements only /elements/api-v2/instances of the SAP Open Connectors API")
	})
	return a.auth(mux)
}

// Mount serves api under APIPrefix and everything else with admin. The
// daemon mounts the API inside the admin handler instead, so the admin
// token guards it too.
func Mount(admin, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(APIPrefix, api)
	mux.Handle("/", admin)
	return mux
}

// auth checks "authorization: User <secret>, Organization <secret>" in
// constant time, both parts always compared, as hashes so that not even
// their length leaks through timing. With CONNECTORD_ADMIN_TOKEN set the
// admin listener's token check runs first: both are required.
func (a *Instances) auth(next http.Handler) http.Handler {
	empty := a.d.UserSecret == "" || a.d.OrgSecret == ""
	user, org := sha256.Sum256([]byte(a.d.UserSecret.Reveal())), sha256.Sum256([]byte(a.d.OrgSecret.Reveal()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if empty {
			writeError(w, http.StatusForbidden, "", "the /instances API is disabled: set "+EnvUserSecret+" and "+EnvOrgSecret+" for connectord run")
			return
		}
		gotUser, gotOrg := parseAuthorization(r.Header.Get("Authorization"))
		userSum, orgSum := sha256.Sum256([]byte(gotUser)), sha256.Sum256([]byte(gotOrg))
		okUser := subtle.ConstantTimeCompare(userSum[:], user[:])
		okOrg := subtle.ConstantTimeCompare(orgSum[:], org[:])
		if okUser&okOrg != 1 {
			writeError(w, http.StatusUnauthorized, "", "missing or wrong authorization: expected \"User <user secret>, Organization <organization secret>\"")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// parseAuthorization splits "User x, Organization y" (any order; other
// parts, such as Element or the admin token's Bearer, are ignored).
func parseAuthorization(h string) (user, org string) {
	for _, part := range strings.Split(h, ",") {
		scheme, value, _ := strings.Cut(strings.TrimSpace(part), " ")
		switch strings.ToLower(scheme) {
		case "user":
			user = strings.TrimSpace(value)
		case "organization":
			org = strings.TrimSpace(value)
		}
	}
	return user, org
}

// apiError is the Open Connectors error body; Key names the offending
// request key on a 400.
type apiError struct {
	RequestID string `json:"requestId"`
	Message   string `json:"message"`
	Key       string `json:"key,omitempty"`
}

func writeError(w http.ResponseWriter, status int, key, msg string) {
	writeJSON(w, status, apiError{RequestID: requestID(), Message: msg, Key: key})
}

// writeBadRequest answers 400 for a *BadRequestError, 500 otherwise.
func writeBadRequest(w http.ResponseWriter, err error) {
	var bad *BadRequestError
	if errors.As(err, &bad) {
		writeError(w, http.StatusBadRequest, bad.Key, bad.Error())
		return
	}
	var se *StatusError
	if errors.As(err, &se) {
		writeError(w, se.Status, se.Key, se.Msg)
		return
	}
	writeError(w, http.StatusInternalServerError, "", err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func requestID() string { return randomHex(12) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
