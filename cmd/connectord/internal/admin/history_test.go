package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/runner"
)

func TestHistoryRatesAndMinutes(t *testing.T) {
	start := time.Date(2024, 6, 27, 12, 0, 0, 0, time.UTC)
	h := newHistory(start)
	tot := func(delivered, retried, dead uint64) runner.Totals {
		return runner.Totals{Delivered: delivered, Retried: retried, DeadLettered: dead}
	}

	// 30 s in: 10 delivered. Rates count at least a minute.
	h.record("p", tot(10, 0, 0), start.Add(30*time.Second))
	r := h.rates("p", tot(10, 0, 0), start.Add(30*time.Second))
	if r.DeliveredPerMinute != 10 || r.FailedPerMinute != 0 {
		t.Errorf("rates after 30s = %+v, want 10/min", r)
	}

	// Ten minutes of 60 delivered and 6 failed per minute (retried and
	// dead-lettered count as failed), sampled every
	// 5 s: the rate is the last five minutes' average.
	for i := 1; i <= 120; i++ {
		at := start.Add(time.Minute + time.Duration(i)*5*time.Second)
		h.record("p", tot(10+uint64(i)*5, uint64(i)/4, uint64(i)/4), at)
	}
	now := start.Add(11 * time.Minute)
	r = h.rates("p", tot(610, 30, 30), now)
	if r.DeliveredPerMinute != 60 || r.FailedPerMinute != 6 || r.WindowSeconds != 300 {
		t.Errorf("rates = %+v, want 60 delivered and 6 failed per minute over 300s", r)
	}
	if s := h.series["p"]; len(s.recent) > 62 {
		t.Errorf("kept %d samples for a 5-minute window sampled every 5s", len(s.recent))
	}

	// Per-minute buckets: the live totals add to the current minute.
	delivered, failed := h.minutes("p", tot(700, 30, 30), now)
	if len(delivered) != historyMinutes || len(failed) != historyMinutes {
		t.Fatalf("minutes: %d, %d", len(delivered), len(failed))
	}
	last := historyMinutes - 1
	if delivered[last] != 95 { // 5 in the sample at 11:00, then 610 -> 700 live
		t.Errorf("this minute = %d delivered, want 95", delivered[last])
	}
	if delivered[last-1] != 60 || failed[last-1] != 6 {
		t.Errorf("previous minute = %d delivered, %d failed; want 60, 6", delivered[last-1], failed[last-1])
	}
	if delivered[0] != 0 {
		t.Errorf("an hour ago = %d, want 0 (before the daemon started)", delivered[0])
	}

	// An hour later, old buckets read as empty, not as last hour's.
	delivered, _ = h.minutes("p", tot(700, 30, 30), now.Add(time.Hour))
	var sum uint64
	for _, v := range delivered {
		sum += v
	}
	if sum != 90 { // only the live movement since the last sample
		t.Errorf("an hour later the chart holds %d events, want 90", sum)
	}

	// A pipeline never sampled counts from the daemon's start.
	r = h.rates("new", tot(5, 0, 1), start.Add(2*time.Minute))
	if r.DeliveredPerMinute != 2.5 || r.FailedPerMinute != 0.5 {
		t.Errorf("unsampled rates = %+v", r)
	}
}

func TestSparklinePoints(t *testing.T) {
	d := make([]uint64, historyMinutes)
	f := make([]uint64, historyMinutes)
	d[59], f[58] = 10, 5
	sp := newSparkline(d, f)
	if sp.Max != 10 || sp.TotalDelivered != 10 || sp.TotalFailed != 5 || sp.Width != 177 {
		t.Errorf("sparkline = %+v", sp)
	}
	dp, fp := strings.Fields(sp.Delivered), strings.Fields(sp.Failed)
	if len(dp) != 60 || dp[0] != "0,29.0" || dp[59] != "177,1.0" || fp[58] != "174,15.0" {
		t.Errorf("points: %v / %v", dp, fp)
	}
	if flat := newSparkline(make([]uint64, 60), make([]uint64, 60)); strings.Contains(flat.Delivered, "NaN") {
		t.Errorf("an empty chart has NaN points: %s", flat.Delivered)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		st            runner.PipelineStatus
		state, detail string
	}{
		{runner.PipelineStatus{State: "running"}, StateRunning, ""},
		{runner.PipelineStatus{State: "degraded: 401 from the API"}, StateDegraded, "401 from the API"},
		{runner.PipelineStatus{State: "source failed: boom"}, StateFailed, "boom"},
		{runner.PipelineStatus{State: "paused", Delivery: runner.DeliveryStatus{Paused: "410 Gone"}}, StatePaused, "410 Gone"},
		{runner.PipelineStatus{State: "removed"}, StateRemoved, "not in the config; its stored events remain"},
		{runner.PipelineStatus{State: "exploding"}, StateFailed, "exploding"},
	} {
		state, detail := classify(c.st)
		if state != c.state || detail != c.detail {
			t.Errorf("classify(%q) = %q, %q; want %q, %q", c.st.State, state, detail, c.state, c.detail)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 192 * time.Second: "3m12s",
		2*time.Hour + 5*time.Minute: "2h05m", 76 * time.Hour: "3d4h",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if got := Truncate("a\nvery   long\terror", 10); got != "a very lo…" {
		t.Errorf("Truncate = %q", got)
	}
}
