package store

import "fmt"

// purge deletes the listed dead letters, or all of them, inside the group
// transaction.
func (w *txWriter) purge(pg *purge) (int, error) {
	p, ok := w.existing(pg.pipeline)
	if !ok {
		return 0, nil
	}
	if len(pg.seqs) > 0 {
		before := w.count(pg.pipeline).dead
		for _, seq := range pg.seqs {
			if err := w.dropDead(pg.pipeline, seq); err != nil {
				return 0, err
			}
		}
		return int(before - w.count(pg.pipeline).dead), nil
	}
	// Dropping the bucket frees its pages at once instead of deleting key by
	// key; the counter, made current first, says how many there were.
	if err := w.flush(); err != nil {
		return 0, err
	}
	n := p.counter(keyDead)
	if err := p.root.DeleteBucket(bucketDead); err != nil {
		return 0, fmt.Errorf("store: purge dead letters of pipeline %q: %w", pg.pipeline, err)
	}
	dead, err := p.root.CreateBucket(bucketDead)
	if err != nil {
		return 0, fmt.Errorf("store: purge dead letters of pipeline %q: %w", pg.pipeline, err)
	}
	p.dead = dead
	w.pipes[pg.pipeline] = p
	if err := p.addCounter(keyDead, -n); err != nil {
		return 0, err
	}
	return int(n), nil
}
