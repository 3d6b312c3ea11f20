package intercomsim

import (
	"net/http/httptest"
	"testing"
	"time"
)

// Polls of one resource by two clients are recorded with their pages; a
// first page of b between a's first and last page is an overlap, a poll of
// b after a's last page is not.
func TestPollsRecordOverlapsBetweenClients(t *testing.T) {
	s, _, _ := newTestServer(t, Options{Seed: 1})
	s.Populate(Conversations, 3, t0.Add(-time.Hour), t0)
	a := httptest.NewServer(s.Client("a"))
	defer a.Close()
	b := httptest.NewServer(s.Client("b"))
	defer b.Close()

	_, first := call(t, a, "GET", "/conversations?per_page=2", "tok", nil)
	if first.Pages.Next == nil {
		t.Fatal("no second page")
	}
	call(t, b, "GET", "/conversations?per_page=2", "tok", nil) // b polls while a is between pages
	call(t, a, "GET", "/conversations?per_page=2&starting_after="+first.Pages.Next.StartingAfter, "tok", nil)
	call(t, b, "GET", "/contacts", "tok", nil) // another resource: no overlap with a

	polls := s.Polls()
	if len(polls) != 3 || polls[0].Client != "a" || polls[0].Pages != 2 || polls[1].Client != "b" || polls[1].Pages != 1 {
		t.Fatalf("polls: %+v", polls)
	}
	ov := s.Overlaps()
	if len(ov) != 1 || ov[0].A.Client != "a" || ov[0].B.Client != "b" || ov[0].A.Path != "/conversations" {
		t.Fatalf("overlaps: %+v", ov)
	}

	// Strictly one after the other: no new overlap.
	call(t, a, "GET", "/conversations?per_page=5", "tok", nil)
	call(t, b, "GET", "/conversations?per_page=5", "tok", nil)
	if ov := s.Overlaps(); len(ov) != 1 {
		t.Fatalf("sequential polls counted as overlapping: %+v", ov[1:])
	}
}
