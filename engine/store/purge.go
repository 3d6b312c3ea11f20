package store

// purge deletes the listed dead letters, or all of them, inside the group.
func (w *txWriter) purge(pg *purge) (int, error) {
	p, err := w.st.pipe(pg.pipeline, false)
	if err != nil || p == nil {
		return 0, err
	}
	if len(pg.seqs) > 0 {
		before := p.meta.dead
		for _, seq := range pg.seqs {
			if err := w.dropDead(pg.pipeline, seq); err != nil {
				return 0, err
			}
		}
		return int(before - p.meta.dead), nil
	}
	// One mark drops them all (bbolt drops the bucket at the checkpoint,
	// freeing its pages at once); the counter says how many there were.
	n := p.meta.dead
	w.st.clearDead(p, pg.pipeline)
	p.meta.dead = 0
	return int(n), nil
}
