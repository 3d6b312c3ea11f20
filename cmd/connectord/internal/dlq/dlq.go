// Package dlq lists, shows, replays and purges dead letters. The same
// Service backs the admin API (while a daemon holds the store) and the
// `connectord dlq` command (which opens the store itself when no daemon
// runs, or calls the admin API through Client when one does).
package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// Service operates on one store, and on the running pipelines if Runtime
// is set (needed to replay transform-stage dead letters).
type Service struct {
	Store   store.Store
	Runtime *runner.Runtime
}

// Selector chooses dead letters: All, or by queue number or eventId.
type Selector struct {
	All bool     `json:"all,omitempty"`
	IDs []string `json:"ids,omitempty"` // a number selects by Seq, anything else by eventId
}

// ErrNoneSelected is returned when a selector matches nothing.
var ErrNoneSelected = errors.New("no dead letter matches")

// ErrUnknownPipeline is returned for a pipeline that neither runs nor has
// anything stored: a typo must not read as "0 dead letters".
var ErrUnknownPipeline = errors.New("no such pipeline")

// Pipelines lists the pipelines that run or have stored state, sorted.
func (s *Service) Pipelines(ctx context.Context) ([]string, error) {
	names, err := s.Store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	if s.Runtime != nil {
		for _, st := range s.Runtime.Status() {
			if !seen[st.Name] {
				names = append(names, st.Name)
				seen[st.Name] = true
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// known fails with ErrUnknownPipeline unless the pipeline runs or has
// stored state.
func (s *Service) known(ctx context.Context, pipeline string) error {
	if s.Runtime != nil && s.Runtime.Running(pipeline) {
		return nil
	}
	names, err := s.Store.Pipelines(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(names, pipeline) {
		return fmt.Errorf("%w %q", ErrUnknownPipeline, pipeline)
	}
	return nil
}

// List returns up to limit dead letters after seq.
func (s *Service) List(ctx context.Context, pipeline string, after uint64, limit int) ([]store.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	if err := s.known(ctx, pipeline); err != nil {
		return nil, err
	}
	return s.Store.DeadLetters(ctx, pipeline, after, limit)
}

// Select resolves a selector to dead letters, paging through the store.
func (s *Service) Select(ctx context.Context, pipeline string, sel Selector) ([]store.DeadLetter, error) {
	want := map[string]bool{}
	for _, id := range sel.IDs {
		want[id] = true
	}
	if !sel.All && len(want) == 0 {
		return nil, fmt.Errorf("choose dead letters with --id or --all")
	}
	if err := s.known(ctx, pipeline); err != nil {
		return nil, err
	}
	var out []store.DeadLetter
	var after uint64
	for {
		page, err := s.Store.DeadLetters(ctx, pipeline, after, 500)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			if sel.All || want[strconv.FormatUint(d.Seq, 10)] || want[d.ID] {
				out = append(out, d)
			}
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if len(out) == 0 {
		return nil, ErrNoneSelected
	}
	return out, nil
}

// Replay re-queues the selected dead letters (see runner.Runtime.Replay).
func (s *Service) Replay(ctx context.Context, pipeline string, sel Selector) (int, error) {
	dls, err := s.Select(ctx, pipeline, sel)
	if err != nil {
		return 0, err
	}
	if s.Runtime != nil {
		return s.Runtime.Replay(ctx, pipeline, dls)
	}
	n, err := runner.ReplayQueued(ctx, s.Store, pipeline, dls)
	if err != nil {
		return n, err
	}
	// Without a daemon, also lift a 410 pause: the next start delivers.
	var b store.Batch
	b.Delete(pipeline, runner.PausedKey)
	return n, s.Store.Commit(ctx, &b)
}

// Purge deletes the selected dead letters for good.
func (s *Service) Purge(ctx context.Context, pipeline string, sel Selector) (int, error) {
	if sel.All {
		return s.Store.PurgeDeadLetters(ctx, pipeline)
	}
	dls, err := s.Select(ctx, pipeline, sel)
	if err != nil {
		return 0, err
	}
	seqs := make([]uint64, len(dls))
	for i, d := range dls {
		seqs[i] = d.Seq
	}
	return s.Store.PurgeDeadLetters(ctx, pipeline, seqs...)
}

// ErrRunning is returned when purging the queue of a running pipeline.
var ErrRunning = errors.New("the pipeline is running: remove it from the config first (its queue is delivered, not purged)")

// PurgeQueue deletes every queued event of a pipeline that no longer runs
// (a removed pipeline keeps its queue on disk until it returns or this is
// called) and returns how many it deleted. Dead letters are left alone.
func (s *Service) PurgeQueue(ctx context.Context, pipeline string) (int, error) {
	if s.Runtime != nil && s.Runtime.Running(pipeline) {
		return 0, ErrRunning
	}
	if err := s.known(ctx, pipeline); err != nil {
		return 0, err
	}
	n := 0
	for {
		recs, err := s.Store.Pending(ctx, pipeline, 0, 500)
		if err != nil {
			return n, err
		}
		if len(recs) == 0 {
			return n, nil
		}
		var b store.Batch
		for _, r := range recs {
			b.Ack(pipeline, r.Seq)
		}
		if err := s.Store.Commit(ctx, &b); err != nil {
			return n, err
		}
		n += len(recs)
	}
}
