package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/store"
)

// ErrNeedsTransforms is returned when a transform-stage dead letter is
// replayed without a running pipeline to run its transforms.
var ErrNeedsTransforms = errors.New("transform-stage dead letters are replayed through the running pipeline (start connectord, then replay)")

// ReplayQueued puts delivery-stage dead letters back on the queue, each in
// one atomic commit with the removal of its dead letter. The event keeps its
// eventId and body; the sink signs it again with the keys configured when it
// is delivered. It needs no running pipeline.
func ReplayQueued(ctx context.Context, st store.Store, pipeline string, dls []store.DeadLetter) (int, error) {
	n := 0
	for _, d := range dls {
		if d.Stage == "transform" {
			return n, fmt.Errorf("dead letter %d: %w", d.Seq, ErrNeedsTransforms)
		}
		var b store.Batch
		b.Append(pipeline, store.Record{ID: d.ID, Key: d.Key, Body: d.Body})
		b.DropDeadLetter(pipeline, d.Seq)
		if err := st.Commit(ctx, &b); err != nil {
			return n, fmt.Errorf("replaying dead letter %d: %w", d.Seq, err)
		}
		n++
	}
	return n, nil
}

// Replay replays dead letters of a running pipeline: delivery-stage ones go
// back on the queue, transform-stage ones run through the pipeline's current
// transforms again (after a fixed jq, say). A replay also lifts a 410 pause:
// the operator says the receiver is back.
func (r *Runtime) Replay(ctx context.Context, name string, dls []store.DeadLetter) (int, error) {
	r.mu.Lock()
	g := r.running[name]
	r.mu.Unlock()
	var queued, transform []store.DeadLetter
	for _, d := range dls {
		if d.Stage == "transform" {
			transform = append(transform, d)
		} else {
			queued = append(queued, d)
		}
	}
	if len(transform) > 0 && g == nil {
		return 0, fmt.Errorf("pipeline %q is not running: %w", name, ErrNeedsTransforms)
	}
	n, err := ReplayQueued(ctx, r.opts.Store, name, queued)
	if err != nil {
		return n, err
	}
	for _, d := range transform {
		var v any
		if err := json.Unmarshal(d.Body, &v); err != nil {
			return n, fmt.Errorf("dead letter %d: stored input is not JSON: %w", d.Seq, err)
		}
		if err := g.host.Emit(ctx, []engine.Event{{Value: v, ID: d.ID, Key: d.Key}}); err != nil {
			return n, fmt.Errorf("replaying dead letter %d: %w", d.Seq, err)
		}
		var b store.Batch
		b.DropDeadLetter(name, d.Seq)
		if err := r.opts.Store.Commit(ctx, &b); err != nil {
			return n, err
		}
		n++
	}
	if err := r.Resume(ctx, name); err != nil {
		return n, err
	}
	r.Wake(name)
	return n, nil
}
