package store

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A checkpoint moves the overlay into bbolt: the commit goroutine starts a
// new log segment and hands the overlay's writes (everything up to the old
// segment's generation) to a goroutine that applies them in one bbolt
// transaction, which also records the generation as applied, and then
// deletes the segments it covers. Commits go on meanwhile, into the new
// segment; when the checkpoint is done the commit goroutine forgets what
// it applied.
//
// Triggers (checkpointDue): the overlay's values reach ckptMem (2 MiB), the
// segment reaches ckptLog (64 MiB: the disk and the replay time at Open),
// or ckptEvery (5 s) passed since the last one with something in the log.
// Memory sets the first: in a receiver outage every record stays in the
// overlay until a checkpoint, and the process runs with GOGC=400, so the
// heap grows to several times what the overlay holds — at 8 MiB the
// 100k-queued outage peaked at 210 MiB anonymous memory, at 2 MiB at about
// 60 (bbolt-only: 37). Queued records are appended to bbolt in Seq order,
// so 2 MiB (some 1,800 records) per transaction already writes each page
// about once. With a fast receiver the overlay holds little more than
// dedupe marks, and time sets the pace: events are acked long before a
// checkpoint and never reach bbolt, and the marks of 5 s of traffic share
// one transaction's page copies and two syncs.

type ckptResult struct {
	gen uint64
	err error
}

// checkpointDue says whether a checkpoint should start now. After a failed
// one the next waits for the interval, so that a broken bbolt file does not
// get a new segment at every commit.
func (s *Bolt) checkpointDue() bool {
	// An empty log has nothing to checkpoint, unless the last checkpoint
	// failed: its writes are still in the overlay.
	if s.ckptBusy || s.logErr != nil || s.log.size == 0 && s.ckptErr == nil {
		return false
	}
	since := time.Since(s.lastCkpt)
	if s.ckptErr != nil && since < s.opts.ckptEvery {
		return false
	}
	return s.ov.values >= s.opts.ckptMem || s.log.size >= s.opts.ckptLog || since >= s.opts.ckptEvery
}

// maxOverlayFactor bounds the overlay at this many times the checkpoint's
// memory trigger: past it commits wait for a running checkpoint, or are
// refused while checkpoints fail.
const maxOverlayFactor = 4

// overlayFull refuses commits while checkpoints into bbolt fail and the
// overlay, which only a checkpoint empties, has reached its bound: memory
// would otherwise grow with every event until the process is killed. The
// refusal is a commit error like a full disk's — webhooks answer 503 and
// the sender retries, /readyz says why — and the next successful
// checkpoint (tried every ckptEvery) ends it. Nothing acknowledged is
// lost: it is all in the log.
func (s *Bolt) overlayFull() error {
	if s.ckptErr == nil || s.ov.values < maxOverlayFactor*s.opts.ckptMem {
		return nil
	}
	return fmt.Errorf("store: commit refused: %d MiB wait in memory for bbolt, and the last checkpoint failed: %w",
		s.ov.values>>20, s.ckptErr)
}

// CheckpointError is the last checkpoint's error while checkpoints into
// bbolt fail ("" once one succeeds) and since when. Commits go on into the
// log meanwhile, until the memory bound (overlayFull).
func (s *Bolt) CheckpointError() (string, time.Time) {
	if st := s.ckptFailing.Load(); st != nil {
		return st.msg, st.since
	}
	return "", time.Time{}
}

type ckptFailure struct {
	msg   string
	since time.Time
}

// setCheckpointErr records a checkpoint's outcome for CheckpointError.
func (s *Bolt) setCheckpointErr(err error) {
	s.ckptErr = err
	if err == nil {
		s.ckptFailing.Store(nil)
		return
	}
	since := time.Now()
	if prev := s.ckptFailing.Load(); prev != nil {
		since = prev.since
	}
	s.ckptFailing.Store(&ckptFailure{msg: err.Error(), since: since})
}

// maybeCheckpoint starts a checkpoint if one is due. If one is running and
// the overlay has grown to four times its bound, it waits for it: commits
// slow down to the speed of bbolt rather than memory growing without end.
func (s *Bolt) maybeCheckpoint() {
	if s.ckptBusy && s.ov.values >= maxOverlayFactor*s.opts.ckptMem {
		s.reapCheckpoint(true)
	}
	if !s.checkpointDue() {
		return
	}
	ws, gen, err := s.rotate()
	if err != nil {
		s.setCheckpointErr(err)
		s.lastCkpt = time.Now() // try again at the next trigger, not at every commit
		return
	}
	s.ckptBusy = true
	go func() { s.ckptDone <- ckptResult{gen: gen, err: s.checkpoint(gen, ws)} }()
}

// rotate starts a new segment and returns the overlay's writes, covering
// every generation up to the previous segment's.
func (s *Bolt) rotate() ([]write, uint64, error) {
	gen := s.log.gen
	next, err := createSegment(s.db.Path(), gen+1)
	if err != nil {
		return nil, 0, err
	}
	s.fdatasyncs.Add(1) // the directory
	old := s.log
	s.log = next
	if err := old.close(); err != nil {
		return nil, 0, err
	}
	return s.ov.snapshot(gen), gen, nil
}

// reapCheckpoint takes in a finished checkpoint's result; block waits for
// the running one.
func (s *Bolt) reapCheckpoint(block bool) {
	if !s.ckptBusy {
		return
	}
	if block {
		s.takeCheckpoint(<-s.ckptDone)
		return
	}
	select {
	case res := <-s.ckptDone:
		s.takeCheckpoint(res)
	default:
	}
}

func (s *Bolt) takeCheckpoint(res ckptResult) {
	s.ckptBusy = false
	s.lastCkpt = time.Now()
	s.setCheckpointErr(res.err)
	if res.err != nil {
		// The overlay still holds it all and the log still has it: the
		// next checkpoint applies it again.
		return
	}
	s.ckptCount.Add(1)
	s.ovMu.Lock()
	s.ov.reap(res.gen)
	s.ovMu.Unlock()
}

// checkpointNow applies everything committed so far to bbolt before it
// returns (raw access to the bbolt file).
func (s *Bolt) checkpointNow() error {
	s.reapCheckpoint(true)
	if s.logErr != nil {
		return s.logErr
	}
	ws, gen, err := s.rotate()
	if err != nil {
		return err
	}
	s.takeCheckpoint(ckptResult{gen: gen, err: s.checkpoint(gen, ws)})
	return s.ckptErr
}

// finalCheckpoint runs at Close: once it has applied the log, the data dir
// is the bbolt file alone again, which any version opens.
func (s *Bolt) finalCheckpoint() error {
	s.reapCheckpoint(true)
	gen := s.log.gen
	if err := s.log.close(); err != nil {
		return err
	}
	if s.logErr != nil {
		// What was acknowledged is in the log, before the failed write's
		// torn tail; Open replays it.
		return fmt.Errorf("store: a log write failed: %w", s.logErr)
	}
	s.takeCheckpoint(ckptResult{gen: gen, err: s.checkpoint(gen, s.ov.snapshot(gen))})
	return s.ckptErr
}

// checkpoint applies ws, covering the generations up to gen, to bbolt and
// removes their segments. It runs beside the commit goroutine and touches
// neither the overlay nor the current segment.
func (s *Bolt) checkpoint(gen uint64, ws []write) error {
	if s.testHookCheckpoint != nil {
		if err := s.testHookCheckpoint(); err != nil {
			return fmt.Errorf("store: checkpoint into %s: %w", s.db.Path(), err)
		}
	}
	// Key order makes bbolt's inserts sequential; within a pipeline a purge
	// comes before the dead letters written after it.
	slices.SortFunc(ws, func(a, b write) int {
		return cmp.Or(cmp.Compare(a.pipe, b.pipe), cmp.Compare(writeRank(a.kind), writeRank(b.kind)),
			cmp.Compare(a.space, b.space), cmp.Compare(a.key, b.key))
	})
	err := s.db.DB.Update(func(tx *bolt.Tx) error {
		a := newBoltApplier(tx)
		for i := range ws {
			if err := a.apply(&ws[i]); err != nil {
				return err
			}
		}
		return setApplied(tx, gen)
	})
	if err != nil {
		return fmt.Errorf("store: checkpoint into %s: %w", s.db.Path(), err)
	}
	s.countBoltSyncs()
	if s.testHookCheckpointed != nil {
		s.testHookCheckpointed(gen)
	}
	return removeSegments(s.db.Path(), gen)
}

func writeRank(k writeKind) int {
	switch k {
	case writeClearDead:
		return 0
	case writeMeta:
		return 2
	}
	return 1
}

// recoverLog replays the segments bbolt does not hold yet, each in one
// transaction that also records it as applied, so that a crash during
// recovery (or during a checkpoint before it) never applies one twice. It
// returns the newest generation seen. A directory with no segments (a
// store from before the log) opens as it is.
func recoverLog(db *bolt.DB) (uint64, error) {
	path := db.Path()
	var applied uint64
	if err := db.View(func(tx *bolt.Tx) error { applied = appliedGen(tx); return nil }); err != nil {
		return 0, fmt.Errorf("store: read applied log generation: %w", err)
	}
	gens, err := segments(path)
	if err != nil {
		return 0, err
	}
	newest := applied
	for i, gen := range gens {
		newest = max(newest, gen)
		if gen <= applied {
			continue
		}
		if err := replaySegment(db, gen, i == len(gens)-1); err != nil {
			return 0, err
		}
	}
	if err := removeSegments(path, newest); err != nil {
		return 0, err
	}
	return newest, nil
}

func replaySegment(db *bolt.DB, gen uint64, last bool) error {
	file := segmentPath(db.Path(), gen)
	payloads, _, err := readSegment(file, last)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		a := newBoltApplier(tx)
		for i, p := range payloads {
			ws, err := decodeWrites(p)
			if err != nil {
				return fmt.Errorf("%s: frame %d: %w", file, i, err)
			}
			for j := range ws {
				if err := a.apply(&ws[j]); err != nil {
					return err
				}
			}
		}
		return setApplied(tx, gen)
	})
	if err != nil {
		return fmt.Errorf("store: replay log %s: %w", file, err)
	}
	return nil
}
