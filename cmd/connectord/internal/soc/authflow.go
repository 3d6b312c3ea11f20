package soc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

// AuthFlow is `connectord auth intercom`: the OAuth authorisation-code flow
// with a callback on 127.0.0.1, ending with the token in the store.
type AuthFlow struct {
	ClientID     string
	ClientSecret string
	Name         string   // the token's name: token_ref in pipeline files
	Pipelines    []string // pipelines that get a copy (besides existing copies)
	DataDir      string
	Port         int    // callback port on 127.0.0.1; 0 picks one
	AuthorizeURL string // DefaultAuthorizeURL
	TokenURL     string // DefaultTokenURL
	HTTPClient   *http.Client
	Timeout      time.Duration // how long to wait for the browser (default 5m)
	LockTimeout  time.Duration // how long to wait for the store's lock (default 1s)
	Out          io.Writer     // where the authorize URL and the result go
	Now          func() time.Time
}

var validTokenName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// Run runs the flow. A store held by a running daemon fails it at once,
// before the browser step, with an error wrapping store.ErrLocked.
func (f AuthFlow) Run(ctx context.Context) error {
	if !validTokenName.MatchString(f.Name) {
		return fmt.Errorf("--name %q: use letters, digits, '.', '_' and '-'", f.Name)
	}
	if f.Timeout <= 0 {
		f.Timeout = 5 * time.Minute
	}
	if f.LockTimeout <= 0 {
		f.LockTimeout = time.Second
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	st, err := f.openStore()
	if err != nil {
		return err
	}
	st.Close() // held only while writing, so a daemon can start meanwhile

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Port)))
	if err != nil {
		return fmt.Errorf("listening for the OAuth callback: %w", err)
	}
	redirect := "http://" + ln.Addr().String() + "/callback"
	state := randomHex(16)
	cfg := OAuthConfig(f.ClientID, f.ClientSecret, redirect, f.AuthorizeURL, f.TokenURL)
	authURL := cfg.Endpoint.AuthURL + "?" + url.Values{
		"client_id": {f.ClientID}, "state": {state}, "redirect_uri": {redirect},
	}.Encode()
	fmt.Fprintf(f.Out, "Open this URL in a browser and authorise the app:\n  %s\nWaiting for Intercom to redirect to %s …\n", authURL, redirect)

	code, err := f.awaitCode(ctx, ln, state)
	if err != nil {
		return err
	}
	tok, err := Exchange(ctx, cfg, f.HTTPClient, code, f.Now())
	if err != nil {
		return err
	}
	pipes, err := f.save(ctx, tok)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.Out, "Stored the Intercom token as %q (copies in %d pipeline(s)). In intercom_poller sources use:\n  token_ref: %s\n", f.Name, len(pipes), f.Name)
	return nil
}

func (f AuthFlow) openStore() (*store.Bolt, error) {
	path := filepath.Join(f.DataDir, "connectord.db")
	st, err := store.Open(path, store.WithLockTimeout(f.LockTimeout))
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("the store in %s is locked by a running connectord: stop it, or create the instance through POST %sinstances: %w", f.DataDir, APIPrefix, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the store in %s: %w", f.DataDir, err)
	}
	return st, nil
}

type callbackResult struct {
	code string
	err  error
}

// awaitCode serves the callback until one request settles the flow: the
// right state with a code, or an error (wrong state, denied access).
func (f AuthFlow) awaitCode(ctx context.Context, ln net.Listener, state string) (string, error) {
	done := make(chan callbackResult, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res callbackResult
		switch {
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
			res.err = errors.New("the OAuth callback carried a wrong state: the request did not come from this flow")
		case q.Get("error") != "":
			res.err = fmt.Errorf("authorisation refused by Intercom: %s", q.Get("error"))
		case q.Get("code") == "":
			res.err = errors.New("the OAuth callback carried no code")
		default:
			res.code = q.Get("code")
		}
		if res.err != nil {
			http.Error(w, "connectord: "+res.err.Error(), http.StatusBadRequest)
		} else {
			io.WriteString(w, "connectord: authorised. You can close this window.\n")
		}
		select {
		case done <- res:
		default: // a second callback after the first settled the flow
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	timer := time.NewTimer(f.Timeout)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.code, res.err
	case <-timer.C:
		return "", fmt.Errorf("no OAuth callback within %s", f.Timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// save stores the token in _oauth, in the named pipelines and in every
// pipeline that already holds a copy, in one commit.
func (f AuthFlow) save(ctx context.Context, tok Token) ([]string, error) {
	st, err := f.openStore()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	pipes := append([]string(nil), f.Pipelines...)
	all, err := st.Pipelines(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing pipelines: %w", err)
	}
	for _, p := range all {
		if p == OAuthPipeline || slices.Contains(pipes, p) {
			continue
		}
		if _, err := st.Value(ctx, p, intercom.TokenKey(f.Name)); err == nil {
			pipes = append(pipes, p)
		}
	}
	var b store.Batch
	if err := intercom.PutToken(&b, f.Name, tok, pipes...); err != nil {
		return nil, err
	}
	if err := st.Commit(ctx, &b); err != nil {
		return nil, fmt.Errorf("storing token %q: %w", f.Name, err)
	}
	return pipes, nil
}
