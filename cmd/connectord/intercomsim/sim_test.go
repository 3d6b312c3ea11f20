package intercomsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

var t0 = time.Date(2024, 6, 27, 12, 0, 0, 0, time.UTC)

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server, *FakeClock) {
	t.Helper()
	clock := NewFakeClock(t0)
	opts.Token, opts.Clock = "tok", clock
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv, clock
}

type listResp struct {
	Type          string            `json:"type"`
	TotalCount    int               `json:"total_count"`
	Conversations []json.RawMessage `json:"conversations"`
	Data          []json.RawMessage `json:"data"`
	Pages         struct {
		Page int `json:"page"`
		Next *struct {
			StartingAfter string `json:"starting_after"`
		} `json:"next"`
	} `json:"pages"`
}

func call(t *testing.T, srv *httptest.Server, method, path, token string, body any) (*http.Response, listResp) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lr listResp
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &lr)
	return resp, lr
}

type idAt struct {
	ID        string `json:"id"`
	UpdatedAt int64  `json:"updated_at"`
}

func ids(t *testing.T, raws []json.RawMessage) []idAt {
	var out []idAt
	for _, r := range raws {
		var x idAt
		if err := json.Unmarshal(r, &x); err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

func TestListPagesNewestFirstWithKeysetCursor(t *testing.T) {
	s, srv, _ := newTestServer(t, Options{Seed: 1})
	s.Populate(Conversations, 95, t0.Add(-time.Hour), t0)
	var got []idAt
	after, pages := "", 0
	for {
		path := "/conversations?per_page=20&order=desc&sort=updated_at&unknown=1"
		if after != "" {
			path += "&starting_after=" + after
		}
		resp, lr := call(t, srv, "GET", path, "tok", nil)
		if resp.StatusCode != 200 || lr.Type != "conversation.list" || lr.TotalCount != 95 {
			t.Fatalf("status %d, %+v", resp.StatusCode, lr)
		}
		pages++
		got = append(got, ids(t, lr.Conversations)...)
		if pages == 2 {
			// A record from a later page moves to the front: no skip, no repeat.
			s.Update(Conversations, s.Snapshot(Conversations)[0].ID)
		}
		if lr.Pages.Next == nil {
			break
		}
		after = lr.Pages.Next.StartingAfter
	}
	if pages != 5 || len(got) != 94 {
		t.Fatalf("%d pages, %d records; want 5 pages, 94 (one moved behind the cursor)", pages, len(got))
	}
	seen := map[string]bool{}
	for i, r := range got {
		if seen[r.ID] {
			t.Errorf("record %s twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.UpdatedAt > got[i-1].UpdatedAt {
			t.Errorf("not newest first at %d", i)
		}
	}
	if resp, _ := call(t, srv, "GET", "/conversations?per_page=151", "tok", nil); resp.StatusCode != 400 {
		t.Errorf("per_page 151: status %d", resp.StatusCode)
	}
	if resp, _ := call(t, srv, "GET", "/conversations?starting_after=garbage", "tok", nil); resp.StatusCode != 400 {
		t.Errorf("bad cursor: status %d", resp.StatusCode)
	}
}

func searchQuery(field, op string, v int64, sortOrder string) map[string]any {
	q := map[string]any{
		"query":      map[string]any{"operator": "AND", "value": []any{map[string]any{"field": field, "operator": op, "value": fmt.Sprint(v)}}},
		"pagination": map[string]any{"per_page": 150},
	}
	if sortOrder != "" {
		q["sort"] = map[string]any{"field": field, "order": sortOrder}
	}
	return q
}

func TestSearchGreaterMeansGreaterOrEqualAndSorts(t *testing.T) {
	s, srv, _ := newTestServer(t, Options{Seed: 2})
	for i := range 10 {
		at := t0.Unix() + int64(i)
		s.CreateAt(Conversations, at, at)
	}
	_, lr := call(t, srv, "POST", "/conversations/search", "tok", searchQuery("updated_at", ">", t0.Unix()+5, "ascending"))
	got := ids(t, lr.Conversations)
	if len(got) != 5 || got[0].UpdatedAt != t0.Unix()+5 || got[4].UpdatedAt != t0.Unix()+9 {
		t.Errorf("> t0+5 ascending: %+v; want t0+5..t0+9", got)
	}
	_, lr = call(t, srv, "POST", "/conversations/search", "tok", searchQuery("updated_at", "<", t0.Unix()+2, "descending"))
	got = ids(t, lr.Conversations)
	if len(got) != 3 || got[0].UpdatedAt != t0.Unix()+2 {
		t.Errorf("< t0+2 descending: %+v", got)
	}
}

func TestContactSearchByDay(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	s, srv, _ := newTestServer(t, Options{Seed: 3, ContactSearchByDay: true, Location: ny})
	// 2024-06-27 12:00 UTC is 08:00 in New York.
	morning := s.CreateAt(Contacts, t0.Unix(), t0.Unix())
	evening := s.CreateAt(Contacts, t0.Unix()+10*3600, t0.Unix()+10*3600)  // 18:00 NY, same day
	s.CreateAt(Contacts, t0.Unix()+14*3600, t0.Unix()+14*3600)             // 22:00 NY, same day
	tomorrow := s.CreateAt(Contacts, t0.Unix()+20*3600, t0.Unix()+20*3600) // 04:00 NY on the 28th
	_, lr := call(t, srv, "POST", "/contacts/search", "tok", searchQuery("updated_at", ">", morning.UpdatedAt, "ascending"))
	got := ids(t, lr.Data)
	if len(got) != 1 || got[0].ID != tomorrow.ID {
		t.Errorf("> morning by day: %+v; want only the next day's %s", got, tomorrow.ID)
	}
	_, lr = call(t, srv, "POST", "/contacts/search", "tok", searchQuery("updated_at", "=", evening.UpdatedAt, ""))
	if n := len(lr.Data); n != 3 {
		t.Errorf("= evening by day: %d records, want the 3 of that day", n)
	}
}

func TestSearchDelayHidesChangesFromSearchOnly(t *testing.T) {
	s, srv, clock := newTestServer(t, Options{Seed: 4, SearchDelay: time.Minute})
	s.Create(Conversations)
	_, lr := call(t, srv, "POST", "/conversations/search", "tok", searchQuery("updated_at", ">", 0, "ascending"))
	if len(lr.Conversations) != 0 {
		t.Error("a new record is searchable at once")
	}
	if _, lr := call(t, srv, "GET", "/conversations", "tok", nil); len(lr.Conversations) != 1 {
		t.Error("a new record is not listed at once")
	}
	clock.Advance(time.Minute)
	if _, lr := call(t, srv, "POST", "/conversations/search", "tok", searchQuery("updated_at", ">", 0, "ascending")); len(lr.Conversations) != 1 {
		t.Error("record not searchable after the delay")
	}
}

func TestAuthRateLimitAndFaults(t *testing.T) {
	s, srv, clock := newTestServer(t, Options{Seed: 5, RateLimit: 2, RateWindow: 10 * time.Second})
	if resp, _ := call(t, srv, "GET", "/conversations", "nope", nil); resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	resp, _ := call(t, srv, "GET", "/conversations", "tok", nil)
	if resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != "1" ||
		resp.Header.Get("X-RateLimit-Reset") != fmt.Sprint(t0.Unix()+10) {
		t.Errorf("rate headers %v", resp.Header)
	}
	call(t, srv, "GET", "/conversations", "tok", nil)
	if resp, _ := call(t, srv, "GET", "/conversations", "tok", nil); resp.StatusCode != 429 {
		t.Errorf("over budget: %d", resp.StatusCode)
	}
	clock.Advance(10 * time.Second)
	if resp, _ := call(t, srv, "GET", "/conversations", "tok", nil); resp.StatusCode != 200 {
		t.Errorf("new window: %d", resp.StatusCode)
	}
	s.FailNext(2, 500)
	s.FailNext(1, 429)
	for _, want := range []int{500, 500, 429} {
		if resp, _ := call(t, srv, "GET", "/conversations", "tok", nil); resp.StatusCode != want {
			t.Errorf("injected: %d, want %d", resp.StatusCode, want)
		}
	}
	st := s.Stats()
	if st.Requests != 8 || st.Unauthorized != 1 || st.RateLimited != 1 || st.Injected != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestScrollCompanies(t *testing.T) {
	s, srv, _ := newTestServer(t, Options{Seed: 6})
	s.Populate(Companies, 120, t0.Add(-time.Hour), t0)
	seen, param := map[string]bool{}, ""
	for range 10 {
		req, _ := http.NewRequest("GET", srv.URL+"/companies/scroll?scroll_param="+param, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Data        []idAt `json:"data"`
			ScrollParam string `json:"scroll_param"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if len(body.Data) == 0 {
			break
		}
		for _, c := range body.Data {
			seen[c.ID] = true
		}
		param = body.ScrollParam
	}
	if len(seen) != 120 {
		t.Errorf("scrolled %d companies, want 120", len(seen))
	}
}

func TestSameSeedSameWorkspace(t *testing.T) {
	build := func() []byte {
		s := New(Options{Seed: 42, Clock: NewFakeClock(t0)})
		s.Populate(Conversations, 20, t0.Add(-time.Hour), t0)
		s.Populate(Contacts, 20, t0.Add(-time.Hour), t0)
		s.Churn(30)
		var out []byte
		for _, k := range []Kind{Conversations, Contacts} {
			for _, v := range s.Snapshot(k) {
				raw, _ := s.Get(k, v.ID)
				out = append(out, raw...)
			}
		}
		return out
	}
	if !bytes.Equal(build(), build()) {
		t.Error("same seed, different workspace")
	}
}

// TestRecordsLookLikeTheFixtures checks that a generated conversation has
// the fixture's fields with the same JSON types.
func TestRecordsLookLikeTheFixtures(t *testing.T) {
	raw, err := os.ReadFile("testdata/conversation-list-2.14.json")
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var fixture struct {
		Conversations []map[string]any `json:"conversations"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Seed: 7, Clock: NewFakeClock(t0)})
	v := s.Create(Conversations)
	body, _ := s.Get(Conversations, v.ID)
	var got map[string]any
	json.Unmarshal(body, &got)
	for k, fv := range fixture.Conversations[0] {
		gv, ok := got[k]
		if !ok {
			t.Errorf("field %q missing", k)
			continue
		}
		if fmt.Sprintf("%T", gv) != fmt.Sprintf("%T", fv) {
			t.Errorf("field %q: %T, fixture has %T", k, gv, fv)
		}
	}
}
