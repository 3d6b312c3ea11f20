package natsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readRetrying is readFrom, retried until ctx ends: right after a stream
// is created, or while its leader is being elected, the server answers "no
// responders" for a moment. Applying the stream again from the same point
// gives the same state, so a retry after a partial read is harmless.
func (s *Store) readRetrying(ctx context.Context, from uint64) error {
	wait := 50 * time.Millisecond
	for {
		err := s.readFrom(ctx, from)
		if err == nil || errors.Is(err, errForeign) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// errForeign marks a message that is not the store's: retrying cannot help.
var errForeign = errors.New("not a connectord store message")

// readFrom reads the stream's messages from sequence from and applies them
// to the state. An ordered consumer may be served by a follower that lags,
// so the read ends only when the stream leader (a non-direct get) has no
// message after the last one read. lastSeq becomes the stream's last
// sequence as the leader reported it before the read, or the last message
// read if later: a write landing after that is caught by fencing.
func (s *Store) readFrom(ctx context.Context, from uint64) error {
	info, err := s.streamInfo(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 || last < from {
		s.lastSeq = max(s.lastSeq, last)
		return nil
	}
	cons, err := s.js.OrderedConsumer(ctx, s.opts.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.layout.filter()},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    max(from, info.State.FirstSeq),
	})
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	defer func() {
		if ci := cons.CachedInfo(); ci != nil {
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.js.DeleteConsumer(dctx, s.opts.stream, ci.Name)
			cancel()
		}
	}()
	seen, wait := from-1, false
	for {
		var batch jetstream.MessageBatch
		if wait {
			batch, err = cons.Fetch(1000, jetstream.FetchMaxWait(500*time.Millisecond))
		} else {
			batch, err = cons.FetchNoWait(1000)
		}
		if err != nil {
			return fmt.Errorf("fetch after %d: %w", seen, err)
		}
		n, pending, err := s.applyBatch(batch, &seen)
		if err != nil {
			return err
		}
		if n > 0 && pending > 0 {
			wait = false
			continue
		}
		if seen >= last {
			break
		}
		more, err := s.leaderHasAfter(ctx, seen)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read up to %d of %d: %w", seen, last, err)
		}
		wait = n == 0
	}
	s.lastSeq = max(s.lastSeq, last, seen)
	return nil
}

// applyBatch applies one fetched batch; it returns how many messages it
// held and how many the consumer said were left after the last of them.
func (s *Store) applyBatch(batch jetstream.MessageBatch, seen *uint64) (n int, pending uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for msg := range batch.Messages() {
		md, err := msg.Metadata()
		if err != nil {
			return n, 0, fmt.Errorf("message metadata after %d: %w", *seen, err)
		}
		d, err := decode(msg.Data())
		if err != nil {
			return n, 0, fmt.Errorf("message %d on %s: %w (is another application publishing to %s?): %v", md.Sequence.Stream, msg.Subject(), errForeign, s.layout.filter(), err)
		}
		s.st.applyAt(msg.Subject(), md.Sequence.Stream, &d, time.Now())
		*seen, pending, n = md.Sequence.Stream, md.NumPending, n+1
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return n, pending, fmt.Errorf("fetch after %d: %w", *seen, err)
	}
	return n, pending, nil
}

// leaderHasAfter asks the stream leader whether a message follows seq.
func (s *Store) leaderHasAfter(ctx context.Context, seq uint64) (bool, error) {
	_, err := s.stream.GetMsg(ctx, seq+1, jetstream.WithGetMsgSubject(s.layout.filter()))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("next message after %d: %w", seq, err)
	}
	return true, nil
}
