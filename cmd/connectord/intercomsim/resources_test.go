package intercomsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connectord/connectord/sources/intercom"
)

// TestServesEveryPolledResourceOfTheTable checks the simulator answers the
// request the poller makes for each polled resource of sources/intercom.
func TestServesEveryPolledResourceOfTheTable(t *testing.T) {
	s, srv, _ := newTestServer(t, Options{})
	for _, name := range intercom.PolledResources() {
		res, _ := intercom.LookupResource(name)
		s.Create(Kind(name))
		method, body := http.MethodGet, any(nil)
		if res.Mode == intercom.ModeSearch {
			method, body = http.MethodPost, searchQuery("updated_at", ">", 0, "ascending")
		}
		resp, lr := call(t, srv, method, res.Path, "tok", body)
		if resp.StatusCode != 200 {
			t.Errorf("%s %s %s: HTTP %d", name, method, res.Path, resp.StatusCode)
		}
		if name == "tickets" && lr.Type != "ticket.list" {
			t.Errorf("tickets answered type %q", lr.Type)
		}
	}
}

func TestArticlesNextIsAURL(t *testing.T) {
	s, srv, clock := newTestServer(t, Options{})
	for range 3 {
		s.Create(Articles)
		clock.Advance(1e9)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/articles?per_page=2", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data  []json.RawMessage `json:"data"`
		Pages struct {
			Next string `json:"next"`
		} `json:"pages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || !strings.HasPrefix(page.Pages.Next, "/articles?") {
		t.Fatalf("first page: %d records, next %q", len(page.Data), page.Pages.Next)
	}
	_, lr := call(t, srv, "GET", page.Pages.Next, "tok", nil)
	if len(lr.Data) != 1 {
		t.Fatalf("second page has %d records, want 1", len(lr.Data))
	}
}

func TestOAuthAuthorizeAndToken(t *testing.T) {
	_, srv, _ := newTestServer(t, Options{ClientID: "cid", ClientSecret: "csecret"})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + AuthorizePath + "?" + url.Values{"client_id": {"cid"}, "state": {"st"}, "redirect_uri": {"http://127.0.0.1:1/cb"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || code == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	exchange := func(code, secret string) (int, string) {
		resp, err := http.PostForm(srv.URL+TokenPath, url.Values{"code": {code}, "client_id": {"cid"}, "client_secret": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := exchange(code, "wrong"); st != http.StatusUnauthorized {
		t.Errorf("wrong client secret: HTTP %d", st)
	}
	if st, body := exchange(code, "csecret"); st != 200 || !strings.Contains(body, `"access_token":"tok"`) {
		t.Errorf("exchange: %d %s", st, body)
	}
	if st, _ := exchange(code, "csecret"); st != http.StatusBadRequest {
		t.Errorf("a code used twice: HTTP %d", st)
	}
	if st, _ := exchange("made-up", "csecret"); st != http.StatusBadRequest {
		t.Errorf("a made-up code: HTTP %d", st)
	}
}

func TestOAuthAcceptAnyCode(t *testing.T) {
	_, srv, _ := newTestServer(t, Options{AcceptAnyCode: true})
	resp, err := http.PostForm(srv.URL+TokenPath, url.Values{"code": {"oiu3gr1g2roi12ruioiu190f9"}, "client_id": {"x"}, "client_secret": {"y"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
}
