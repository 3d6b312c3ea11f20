package admin

import (
	"fmt"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/runner"
)

func TestRecentIsBoundedNewestFirst(t *testing.T) {
	m := NewMetrics()
	if got := m.Recent("p"); got != nil {
		t.Fatalf("recent of an unknown pipeline = %v", got)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range RecentPerPipeline + 5 {
		m.Attempted("p", runner.Attempt{At: t0.Add(time.Duration(i) * time.Second), ID: fmt.Sprint(i), Attempt: 1, Outcome: "delivered"})
	}
	m.Attempted("q", runner.Attempt{ID: "other"})
	got := m.Recent("p")
	if len(got) != RecentPerPipeline {
		t.Fatalf("kept %d, want %d", len(got), RecentPerPipeline)
	}
	if got[0].ID != fmt.Sprint(RecentPerPipeline+4) || got[len(got)-1].ID != "5" {
		t.Errorf("order: first %s, last %s", got[0].ID, got[len(got)-1].ID)
	}
	if q := m.Recent("q"); len(q) != 1 || q[0].ID != "other" {
		t.Errorf("q = %v", q)
	}
}
