package admin

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/version"
)

//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// pageData is what the status page shows.
type pageData struct {
	Version string
	Now     string
	Error   string
	Rows    []pageRow
	Reload  pageReload
	Refresh int
	// Replica and Members: this replica and the live ones sharing its
	// store ("r1 (this, 5m) · r2 (3m)").
	Replica string
	Members string
}

type pageRow struct {
	Pipeline
	PerMinute    string
	Lag          string
	Oldest       string
	Spark        Sparkline
	ErrorShort   string
	ErrorWhen    string
	ReloadAction string
	// EndpointLine is the sink endpoint's breaker in words.
	EndpointLine  string
	EndpointDown  bool
	EndpointTitle string
	// PollerLine says which replica polls ("polled by r2 for 5m").
	PollerLine string
	// PartitionsLine says which delivery partitions this replica delivers.
	PartitionsLine string
}

type pageReload struct {
	Known  bool
	OK     bool
	When   string
	Ago    string
	Detail string
	Error  string
}

// page renders the status page: one row per pipeline, readable at a glance,
// refreshing itself every five seconds. It shows no configuration beyond
// names, files and hashes, so no secret can reach it.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	data := pageData{Version: version.String(), Now: now.Format("15:04:05 MST"), Refresh: 5, Reload: reloadLine(h.reload(), now)}
	status := http.StatusOK
	ps, err := h.list(r.Context())
	if err != nil {
		status = http.StatusServiceUnavailable
		data.Error = "cannot read pipeline status: " + err.Error()
	}
	for _, p := range ps {
		data.Rows = append(data.Rows, h.row(p, now))
	}
	data.Replica = h.d.Runtime.ReplicaID()
	data.Members = MembersLine(h.members(r.Context()), data.Replica, now)
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		http.Error(w, "rendering the status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) row(p Pipeline, now time.Time) pageRow {
	delivered, failed := h.history.minutes(p.Name, p.Totals, now)
	row := pageRow{
		Pipeline:     p,
		PerMinute:    formatRate(p.Rates.DeliveredPerMinute),
		Lag:          "—",
		Oldest:       "",
		Spark:        newSparkline(delivered, failed),
		ErrorShort:   Truncate(p.LastError, 90),
		ReloadAction: p.Reload.Action,
	}
	if p.LagSeconds != nil {
		row.Lag = HumanDuration(time.Duration(*p.LagSeconds * float64(time.Second)))
	}
	if p.Queued > 0 {
		row.Oldest = "oldest " + HumanDuration(time.Duration(p.OldestAgeSeconds*float64(time.Second)))
	}
	if !p.LastErrorAt.IsZero() {
		row.ErrorWhen = HumanDuration(now.Sub(p.LastErrorAt)) + " ago"
	}
	if p.Poller != nil {
		row.PollerLine = "polled by " + p.Poller.Replica + " for " + HumanDuration(now.Sub(p.Poller.Since))
	}
	row.PartitionsLine = PartitionsLine(p.Partitions, now)
	if ep := p.Endpoint; ep != nil {
		row.EndpointLine, row.EndpointDown = EndpointLine(*ep, now), ep.State == "down"
		row.EndpointTitle = ep.Endpoint
	}
	return row
}

// MembersLine lists the live replicas with how long each has been up,
// marking this one.
func MembersLine(ms []Member, self string, now time.Time) string {
	var parts []string
	for _, m := range ms {
		tag := ""
		if m.Replica == self {
			tag = "this, "
		}
		parts = append(parts, fmt.Sprintf("%s (%s%s)", m.Replica, tag, HumanDuration(now.Sub(m.Since))))
	}
	return strings.Join(parts, " · ")
}

// EndpointLine says in a few words how the sink endpoint is: "endpoint up",
// or "endpoint down 2m · 14 failures · next probe in 8s".
func EndpointLine(ep runner.EndpointStatus, now time.Time) string {
	if ep.State != "down" {
		return "endpoint up"
	}
	line := "endpoint down " + HumanDuration(now.Sub(ep.Since)) + fmt.Sprintf(" · %d failures", ep.ConsecutiveFailures)
	if !ep.NextProbe.IsZero() {
		line += " · next probe in " + HumanDuration(max(0, ep.NextProbe.Sub(now)))
	}
	return line
}

func reloadLine(r ReloadStatus, now time.Time) pageReload {
	if r.At.IsZero() {
		return pageReload{}
	}
	pr := pageReload{Known: true, OK: r.OK, When: r.At.Format("2006-01-02 15:04:05 MST"), Ago: HumanDuration(now.Sub(r.At)) + " ago", Error: r.Error}
	var parts []string
	for _, g := range []struct {
		what  string
		names []string
	}{{"started", r.Result.Started}, {"replaced", r.Result.Replaced}, {"stopped", r.Result.Stopped}, {"unchanged", r.Result.Unchanged}} {
		if len(g.names) > 0 {
			parts = append(parts, g.what+": "+strings.Join(g.names, ", "))
		}
	}
	pr.Detail = strings.Join(parts, " · ")
	return pr
}

func formatRate(perMinute float64) string {
	switch {
	case perMinute == 0:
		return "0"
	case perMinute < 10:
		return fmt.Sprintf("%.1f", perMinute)
	default:
		return fmt.Sprintf("%.0f", perMinute)
	}
}

// HumanDuration formats a duration compactly for people: 45s, 3m12s,
// 2h05m, 3d4h.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// Truncate shortens s to one line of at most n runes, marking the cut.
func Truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// PartitionsLine says which delivery partitions this replica delivers and
// since when: "delivers partitions 2,3,6 of 16 (for 5m; newest 10s)", or
// "" when delivery is not shared.
func PartitionsLine(ps *runner.PartitionStatus, now time.Time) string {
	if ps == nil {
		return ""
	}
	if len(ps.Owned) == 0 {
		return fmt.Sprintf("delivers none of %d partitions", ps.Count)
	}
	nums := make([]string, len(ps.Owned))
	oldest, newest := ps.Owned[0].Since, ps.Owned[0].Since
	for i, h := range ps.Owned {
		nums[i] = fmt.Sprint(h.Partition)
		oldest, newest = minTime(oldest, h.Since), maxTime(newest, h.Since)
	}
	line := fmt.Sprintf("delivers partitions %s of %d (for %s", strings.Join(nums, ","), ps.Count, HumanDuration(now.Sub(oldest)))
	if newest.Sub(oldest) >= time.Second {
		line += "; newest " + HumanDuration(now.Sub(newest))
	}
	return line + ")"
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
