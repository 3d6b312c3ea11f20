package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

// TestAuthCommand drives `connectord auth intercom` end to end: the test
// plays the browser by GETting the printed redirect URL with code and state.
func TestAuthCommand(t *testing.T) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("client_secret") != "csecret" || r.PostForm.Get("code") != "abc" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"tok-abc","access_token":"tok-abc","token_type":"Bearer"}`)
	}))
	defer tokens.Close()
	t.Setenv("TEST_INTERCOM_SECRET", "csecret")
	data := t.TempDir()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		code := dispatch([]string{"auth", "intercom", "--client-id", "cid", "--client-secret-env", "TEST_INTERCOM_SECRET",
			"--name", "acme", "--data", data, "--pipeline", "acme-conversations", "--token-url", tokens.URL,
			"--authorize-url", "https://app.intercom.test/oauth"}, pw, &stderr)
		pw.Close()
		done <- code
	}()
	lines := bufio.NewScanner(pr)
	var authURL *url.URL
	var printed strings.Builder
	for lines.Scan() {
		printed.WriteString(lines.Text() + "\n")
		if s := strings.TrimSpace(lines.Text()); authURL == nil && strings.HasPrefix(s, "https://app.intercom.test/oauth?") {
			authURL, _ = url.Parse(s)
			q := authURL.Query()
			res, err := http.Get(q.Get("redirect_uri") + "?code=abc&state=" + url.QueryEscape(q.Get("state")))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
	}
	if code := <-done; code != exitOK || authURL == nil {
		t.Fatalf("exit %d, authorize URL %v\n%s%s", code, authURL, printed.String(), stderr.String())
	}
	if !strings.Contains(printed.String(), "token_ref: acme") {
		t.Errorf("output does not name the token_ref:\n%s", printed.String())
	}
	st, err := store.Open(filepath.Join(data, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range []string{soc.OAuthPipeline, "acme-conversations"} {
		if tok, err := intercom.TokenSource(t.Context(), intercom.StoreGetter(st, p), "acme").Token(); err != nil || tok.AccessToken != "tok-abc" {
			t.Errorf("token in %s: %v %v", p, tok, err)
		}
	}
}

func TestAuthCommandLockedStore(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(filepath.Join(data, "connectord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t.Setenv("TEST_INTERCOM_SECRET", "csecret")
	var stderr strings.Builder
	code := dispatch([]string{"auth", "intercom", "--client-id", "cid", "--client-secret-env", "TEST_INTERCOM_SECRET", "--name", "acme", "--data", data}, io.Discard, &stderr)
	if code != exitInvalid || !strings.Contains(stderr.String(), "locked by a running connectord") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
