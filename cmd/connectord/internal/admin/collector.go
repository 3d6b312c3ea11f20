package admin

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/runner"
)

// collector reads pipeline metrics at scrape time: the runtime's counters,
// the store's queue and dead letters, and the poll cursors. Reading them
// when Prometheus asks needs no goroutine and is never stale.
type collector struct {
	h *Handler
	m *Metrics
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append([]string{"pipeline"}, labels...), nil)
}

var (
	descIn            = desc("connectord_events_in_total", "Events the source handed to the pipeline.")
	descFiltered      = desc("connectord_events_filtered_total", "Events a transform dropped (a filter said false).")
	descStored        = desc("connectord_events_stored_total", "Events committed to the durable queue.")
	descDelivered     = desc("connectord_events_delivered_total", "Events the receiver acknowledged with a 2xx.")
	descFailed        = desc("connectord_events_failed_total", "Failed delivery attempts by class: retry (tried again later), permanent (dead-lettered at once), gone (410; delivery paused).", "class")
	descDeadLettered  = desc("connectord_events_dead_lettered_total", "Events dead-lettered by a transform error, a permanent failure or exhausted retries.")
	descQueued        = desc("connectord_queue_events", "Events stored and waiting for delivery.")
	descOldest        = desc("connectord_queue_oldest_age_seconds", "Age of the oldest queued event; 0 when the queue is empty.")
	descDead          = desc("connectord_dead_letters", "Dead letters stored, waiting for a replay or a purge.")
	descState         = desc("connectord_pipeline_state", "1 for the pipeline's current state, 0 for the others.", "state")
	descGeneration    = desc("connectord_pipeline_generation", "Generation of the running configuration; it changes on each reload that changes the pipeline.")
	descLag           = desc("connectord_cursor_lag_seconds", "How far the poll cursor trails the clock: the age of the newest change seen.", "resource")
	descLastPoll      = desc("connectord_last_poll_success_timestamp_seconds", "When a poll cycle last succeeded, as a Unix time.")
	descEndpointUp    = desc("connectord_endpoint_up", "1 while the sink endpoint's circuit breaker is closed (deliveries flow), 0 while it is down (one probe at a time).", "endpoint")
	descEndpointFail  = desc("connectord_endpoint_consecutive_failures", "Retryable delivery failures at the sink endpoint since its last success.", "endpoint")
	descEndpointSince = desc("connectord_endpoint_state_since_timestamp_seconds", "When the endpoint entered its current state, as a Unix time (0: up since start).", "endpoint")
	descEndpointTrips = desc("connectord_endpoint_trips_total", "Times the endpoint's circuit breaker went down.", "endpoint")
	descQueueBytes    = desc("connectord_queue_bytes", "Bytes of event bodies stored and waiting for delivery (the runtime's count, checked against max_queue_bytes).")
	descWindow        = desc("connectord_delivery_window_events", "Queued events delivery holds in memory (bounded; the rest is read from disk).")
	descStoreFailing  = prometheus.NewDesc("connectord_store_failing", "1 while the store's last commit failed (disk full, I/O error); 0 once a commit succeeds.", nil, nil)
	descCkptFailing   = prometheus.NewDesc("connectord_store_checkpoint_failing", "1 while the embedded store's checkpoints into its bbolt file fail: commits still go into the write-ahead log, until the memory they wait in reaches its bound and commits are refused (connectord_store_failing).", nil, nil)
	descScrapeErr     = prometheus.NewDesc("connectord_status_scrape_error", "1 if the pipeline metrics could not be read from the store at this scrape.", nil, nil)
	descCommits       = prometheus.NewDesc("connectord_store_commits_total", "Write transactions committed by the store; each is one durable sync, shared by all the writes grouped into it.", nil, nil)
	descFdatasyncs    = prometheus.NewDesc("connectord_store_fdatasyncs_total", "Disk syncs (fdatasync) of the store's committed transactions: the embedded store syncs once per commit (its write-ahead log frame) and once per new log segment, and bbolt syncs twice per checkpoint (data pages, then the meta page) and once per file growth.", nil, nil)
)

// syncCounter is implemented by stores that count their durable commits.
type syncCounter interface{ Syncs() uint64 }

// fdatasyncCounter is implemented by stores that count their disk syncs.
type fdatasyncCounter interface{ Fdatasyncs() uint64 }

// checkpointReporter is implemented by stores that checkpoint a log into
// another file in the background (the embedded store).
type checkpointReporter interface {
	CheckpointError() (string, time.Time)
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIn, descFiltered, descStored, descDelivered, descFailed,
		descDeadLettered, descQueued, descOldest, descDead, descState, descGeneration, descLag, descLastPoll, descScrapeErr, descCommits, descFdatasyncs,
		descEndpointUp, descEndpointFail, descEndpointSince, descEndpointTrips, descQueueBytes, descWindow, descStoreFailing, descCkptFailing} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := c.h.list(ctx)
	scrapeErr := 0.0
	if err != nil {
		scrapeErr = 1
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, scrapeErr)
	failing := 0.0
	if msg, _ := c.h.d.Runtime.StoreError(); msg != "" {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(descStoreFailing, prometheus.GaugeValue, failing)
	if cr, ok := c.h.d.Store.(checkpointReporter); ok {
		v := 0.0
		if msg, _ := cr.CheckpointError(); msg != "" {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descCkptFailing, prometheus.GaugeValue, v)
	}
	if sc, ok := c.h.d.Store.(syncCounter); ok {
		ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(sc.Syncs()))
	}
	if fc, ok := c.h.d.Store.(fdatasyncCounter); ok {
		ch <- prometheus.MustNewConstMetric(descFdatasyncs, prometheus.CounterValue, float64(fc.Fdatasyncs()))
	}
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.Name] = true
		c.collectPipeline(ch, p)
	}
	// Pipelines removed with nothing left on disk keep their counters: a
	// counter must not vanish while the process lives.
	for _, name := range c.m.knownPipelines() {
		if !seen[name] {
			c.collectCounters(ch, name, c.h.d.Runtime.Counters(name).Snapshot())
		}
	}
}

func (c collector) collectPipeline(ch chan<- prometheus.Metric, p Pipeline) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{p.Name}, labels...)...)
	}
	c.collectCounters(ch, p.Name, p.Totals)
	gauge(descQueued, float64(p.Queued))
	gauge(descOldest, p.OldestAgeSeconds)
	gauge(descDead, float64(p.DeadLetters))
	for _, s := range States {
		v := 0.0
		if s == p.State {
			v = 1
		}
		gauge(descState, v, s)
	}
	if p.State != StateRemoved {
		gauge(descGeneration, float64(p.Generation))
	}
	for _, cur := range p.Cursors {
		gauge(descLag, cur.LagSeconds, cur.Resource)
	}
	if !p.LastPoll.IsZero() {
		gauge(descLastPoll, float64(p.LastPoll.UnixNano())/1e9)
	}
	if ep := p.Endpoint; ep != nil {
		up := 1.0
		if ep.State == "down" {
			up = 0
		}
		since := 0.0
		if !ep.Since.IsZero() {
			since = float64(ep.Since.UnixNano()) / 1e9
		}
		gauge(descEndpointUp, up, ep.Endpoint)
		gauge(descEndpointFail, float64(ep.ConsecutiveFailures), ep.Endpoint)
		gauge(descEndpointSince, since, ep.Endpoint)
		ch <- prometheus.MustNewConstMetric(descEndpointTrips, prometheus.CounterValue, float64(ep.Trips), p.Name, ep.Endpoint)
		gauge(descQueueBytes, float64(p.QueueBytes))
		gauge(descWindow, float64(p.Window))
	}
}

func (c collector) collectCounters(ch chan<- prometheus.Metric, name string, t runner.Totals) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name}, labels...)...)
	}
	counter(descIn, t.In)
	counter(descFiltered, t.Filtered)
	counter(descStored, t.Stored)
	counter(descDelivered, t.Delivered)
	counter(descDeadLettered, t.DeadLettered)
	counts := c.m.failureCounts(name)
	for class, n := range counts {
		counter(descFailed, n, engine.Class(class).String())
	}
}
