package soc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

// startFlow runs an AuthFlow in the background and returns the authorize
// URL it printed, a channel with Run's result and a function returning all
// it printed once Run has returned.
func startFlow(t *testing.T, f AuthFlow) (*url.URL, <-chan error, func() string) {
	t.Helper()
	pr, pw := io.Pipe()
	f.Out = pw
	res := make(chan error, 1)
	go func() {
		err := f.Run(t.Context())
		pw.Close()
		res <- err
	}()
	var out strings.Builder
	lines := bufio.NewScanner(pr)
	var authURL *url.URL
	for authURL == nil && lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if s := strings.TrimSpace(lines.Text()); strings.HasPrefix(s, "http") {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			authURL = u
		}
	}
	if authURL == nil {
		t.Fatalf("no authorize URL printed; Run: %v", <-res)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
		}
	}()
	t.Cleanup(func() { <-drained })
	return authURL, res, func() string { <-drained; return out.String() }
}

// browse simulates the browser coming back from Intercom.
func browse(t *testing.T, redirect, code, state string) int {
	t.Helper()
	resp, err := http.Get(redirect + "?" + url.Values{"code": {code}, "state": {state}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAuthFlowStoresToken(t *testing.T) {
	tokens := newTokenServer(t)
	data := t.TempDir()
	// A pipeline that already holds a copy gets the new token too.
	seedStore(t, data, func(b *store.Batch) { intercom.PutToken(b, "acme", Token{AccessToken: "old"}, "acme-contacts") })
	flow := AuthFlow{
		ClientID: "cid", ClientSecret: "csecret", Name: "acme", Pipelines: []string{"acme-conversations"},
		DataDir: data, AuthorizeURL: "https://app.intercom.test/oauth", TokenURL: tokens.URL,
		Now: func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
	authURL, res, out := startFlow(t, flow)
	q := authURL.Query()
	if authURL.Host != "app.intercom.test" || q.Get("client_id") != "cid" || len(q.Get("state")) < 16 {
		t.Fatalf("authorize URL %s", authURL)
	}
	redirect := q.Get("redirect_uri")
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		t.Fatalf("redirect_uri %q is not on 127.0.0.1", redirect)
	}
	if status := browse(t, redirect, "the-code", q.Get("state")); status != 200 {
		t.Fatalf("callback answered %d", status)
	}
	if err := <-res; err != nil {
		t.Fatalf("Run: %v", err)
	}
	form := tokens.form.Load().(url.Values)
	if form.Get("code") != "the-code" || form.Get("client_secret") != "csecret" || form.Get("redirect_uri") != redirect {
		t.Errorf("token request form %v", form)
	}
	st, err := store.Open(filepath.Join(data, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range []string{OAuthPipeline, "acme-conversations", "acme-contacts"} {
		tok, err := intercom.TokenSource(t.Context(), intercom.StoreGetter(st, p), "acme").Token()
		if err != nil || tok.AccessToken != "tok-for-the-code" {
			t.Errorf("token in %s: %+v %v", p, tok, err)
		}
	}
	if printed := out(); !strings.Contains(printed, "token_ref: acme") || strings.Contains(printed, "csecret") {
		t.Errorf("output:\n%s", printed)
	}
}

func TestAuthFlowRejectsWrongState(t *testing.T) {
	tokens := newTokenServer(t)
	flow := AuthFlow{ClientID: "cid", ClientSecret: "csecret", Name: "acme", DataDir: t.TempDir(), TokenURL: tokens.URL}
	authURL, res, _ := startFlow(t, flow)
	if status := browse(t, authURL.Query().Get("redirect_uri"), "the-code", "forged"); status != http.StatusBadRequest {
		t.Errorf("forged state answered %d, want 400", status)
	}
	if err := <-res; err == nil || !strings.Contains(err.Error(), "wrong state") {
		t.Errorf("Run: %v, want a wrong-state error", err)
	}
	if tokens.calls.Load() != 0 {
		t.Errorf("code exchanged despite a wrong state")
	}
}

func TestAuthFlowLockedStore(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(filepath.Join(data, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	flow := AuthFlow{ClientID: "cid", ClientSecret: "csecret", Name: "acme", DataDir: data, LockTimeout: 50 * time.Millisecond, Out: io.Discard}
	err = flow.Run(context.Background())
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "running connectord") {
		t.Errorf("Run with a locked store: %v", err)
	}
}

func seedStore(t *testing.T, data string, fill func(*store.Batch)) {
	t.Helper()
	st, err := store.Open(filepath.Join(data, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var b store.Batch
	fill(&b)
	if err := st.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
}
