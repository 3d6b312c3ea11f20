package admin

import (
	"sync"
	"time"

	"github.com/connectord/connectord/engine/runner"
)

// History keeps, per pipeline, samples of the delivered and failed counters:
// per-minute buckets for the last hour (the page's chart) and the samples of
// the last five minutes (the rates). A goroutine started by New samples
// every SampleInterval; readers add the movement since the last sample, so
// what they show is current, not up to one interval old.
const (
	historyMinutes = 60
	rateWindow     = 5 * time.Minute
)

type history struct {
	mu      sync.Mutex
	started time.Time // counters were zero then (they count since the daemon started)
	series  map[string]*series
}

// sample is one reading of a pipeline's counters.
type sample struct {
	at                time.Time
	delivered, failed uint64
}

type series struct {
	last    sample
	recent  []sample // oldest first, covering at least rateWindow
	buckets [historyMinutes]bucket
}

// bucket holds the events of one minute; minute tells which, so a slot left
// from an earlier hour reads as empty.
type bucket struct {
	minute            int64
	delivered, failed uint64
}

func newHistory(started time.Time) *history {
	return &history{started: started, series: map[string]*series{}}
}

func failedOf(t runner.Totals) uint64 { return t.Retried + t.DeadLettered }

// record adds a sample of a pipeline's counters taken at now.
func (h *history) record(name string, t runner.Totals, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(name)
	cur := sample{at: now, delivered: t.Delivered, failed: failedOf(t)}
	s.add(cur)
	s.recent = append(s.recent, cur)
	// Keep one sample at or before the window's start as the baseline.
	for len(s.recent) > 1 && !s.recent[1].at.After(now.Add(-rateWindow)) {
		s.recent = s.recent[1:]
	}
}

func (h *history) get(name string) *series {
	s := h.series[name]
	if s == nil {
		s = &series{last: sample{at: h.started}}
		h.series[name] = s
	}
	return s
}

// add puts the movement since the last sample into cur's minute.
func (s *series) add(cur sample) {
	b := s.bucket(minuteOf(cur.at))
	b.delivered += sub(cur.delivered, s.last.delivered)
	b.failed += sub(cur.failed, s.last.failed)
	s.last = cur
}

func (s *series) bucket(minute int64) *bucket {
	b := &s.buckets[mod(minute, historyMinutes)]
	if b.minute != minute {
		*b = bucket{minute: minute}
	}
	return b
}

// rates are the per-minute averages over the last five minutes: from the
// last sample at or before the window's start (or from the daemon's start,
// when every counter was zero) to the live totals t.
func (h *history) rates(name string, t runner.Totals, now time.Time) Rates {
	h.mu.Lock()
	defer h.mu.Unlock()
	cutoff := now.Add(-rateWindow)
	base, found := sample{at: h.started}, false
	if s := h.series[name]; s != nil {
		for _, r := range s.recent {
			if r.at.After(cutoff) {
				break
			}
			base, found = r, true
		}
		// A pipeline first seen after the window started (it was added,
		// or re-added with counters kept from before) counts from then.
		if !found && h.started.Before(cutoff) && len(s.recent) > 0 {
			base = s.recent[0]
		}
	}
	window := now.Sub(base.at)
	per := max(window, time.Minute).Minutes()
	return Rates{
		DeliveredPerMinute: float64(sub(t.Delivered, base.delivered)) / per,
		FailedPerMinute:    float64(sub(failedOf(t), base.failed)) / per,
		WindowSeconds:      window.Seconds(),
	}
}

// minutes returns the last hour's per-minute counts, oldest first, the
// current minute including the movement since the last sample.
func (h *history) minutes(name string, t runner.Totals, now time.Time) (delivered, failed []uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[name]
	var live series
	if s != nil {
		live = *s
	} else {
		live = series{last: sample{at: h.started}}
	}
	live.add(sample{at: now, delivered: t.Delivered, failed: failedOf(t)})
	delivered = make([]uint64, historyMinutes)
	failed = make([]uint64, historyMinutes)
	end := minuteOf(now)
	for i := range historyMinutes {
		m := end - historyMinutes + 1 + int64(i)
		if b := live.buckets[mod(m, historyMinutes)]; b.minute == m {
			delivered[i], failed[i] = b.delivered, b.failed
		}
	}
	return delivered, failed
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

func mod(a, n int64) int64 { return ((a % n) + n) % n }

// sub is a-b, or 0 if a counter went backwards.
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
