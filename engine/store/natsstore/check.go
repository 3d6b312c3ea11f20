package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// minServer is the oldest nats-server the store runs on: atomic batch
// publish came in 2.12, and 2.14 fixed what the design relies on around
// batches, rollups and per-message TTLs in clustered streams.
var minServer = [3]int{2, 14, 0}

// check runs the start-up checks, creating the stream if it is missing:
// server version, JetStream enabled, and a stream whose settings give the
// guarantees the store promises. Every failure says what to change.
func (s *Store) check(ctx context.Context) error {
	v := s.nc.ConnectedServerVersion()
	if !versionAtLeast(v, minServer) {
		return fmt.Errorf("store: NATS server %s runs nats-server %s; connectord needs %d.%d or later (atomic batch publish)",
			s.nc.ConnectedServerName(), v, minServer[0], minServer[1])
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("store: jetstream: %w", err)
	}
	s.js = js
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("store: JetStream is not enabled on NATS server %s for this account: start nats-server with -js, or add a jetstream block to its config", s.nc.ConnectedServerName())
		}
		return fmt.Errorf("store: JetStream account info from %s: %w", s.nc.ConnectedServerName(), err)
	}
	st, err := s.findStream(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(ctx, s.streamConfig())
		if err != nil {
			return fmt.Errorf("store: creating stream %s with %d replica(s): %w%s", s.opts.stream, s.opts.replicas, err, replicaHint(err, s.opts.replicas))
		}
	} else if err != nil {
		hint := ""
		if errors.Is(err, context.DeadlineExceeded) {
			hint = fmt.Sprintf(" (no answer within %s: does the stream have a leader, is a majority of its servers up?)", s.opts.connect)
		}
		return fmt.Errorf("store: stream %s: %w%s", s.opts.stream, err, hint)
	}
	s.stream = st
	info := st.CachedInfo()
	if err := s.checkStream(info); err != nil {
		return err
	}
	if info, err = s.waitLeader(ctx, info); err != nil {
		return err
	}
	s.info = Info{Stream: s.opts.stream, Replicas: info.Config.Replicas, ServerVersion: v, Server: s.nc.ConnectedServerName(), Cluster: s.nc.ConnectedClusterName()}
	return nil
}

func replicaHint(err error, replicas int) string {
	if replicas > 1 && strings.Contains(strings.ToLower(err.Error()), "replicas") {
		return fmt.Sprintf(" (a stream of %d replicas needs a cluster of at least %d JetStream servers; for a single server use replicas=1)", replicas, replicas)
	}
	return ""
}

// streamConfig is the stream Open creates: file storage, no limit that could
// drop data, rollups and TTLs for the per-entity layout, atomic batches, and
// no direct gets (they may be answered by a lagging follower).
func (s *Store) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               s.opts.stream,
		Description:        "connectord store: queues, key-value state and dead letters (engine/store/natsstore)",
		Subjects:           []string{s.layout.filter()},
		Retention:          jetstream.LimitsPolicy,
		Storage:            jetstream.FileStorage,
		Replicas:           s.opts.replicas,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxMsgsPerSubject:  -1,
		Discard:            jetstream.DiscardNew,
		AllowRollup:        true,
		AllowMsgTTL:        true,
		AllowAtomicPublish: true,
	}
}

// checkStream refuses a stream that would not keep the store's promises.
func (s *Store) checkStream(info *jetstream.StreamInfo) error {
	c := info.Config
	var bad []string
	if c.Replicas != s.opts.replicas {
		bad = append(bad, fmt.Sprintf("it has %d replica(s), the store is configured for %d (change one: `nats stream edit %s --replicas %d`, or replicas=%d in the store URL)", c.Replicas, s.opts.replicas, c.Name, s.opts.replicas, c.Replicas))
	}
	if c.Storage != jetstream.FileStorage {
		bad = append(bad, "it uses memory storage (file storage is needed to survive a restart)")
	}
	if !c.AllowAtomicPublish {
		bad = append(bad, "atomic publish is not allowed (allow_atomic)")
	}
	if !c.AllowRollup || c.DenyPurge {
		bad = append(bad, "rollups are not allowed (allow_rollup_hdrs, and deny_purge off)")
	}
	if !c.AllowMsgTTL {
		bad = append(bad, "per-message TTLs are not allowed (allow_msg_ttl)")
	}
	if c.Retention != jetstream.LimitsPolicy {
		bad = append(bad, "its retention is not limits (a work queue or interest stream would drop state)")
	}
	if c.MaxAge > 0 || c.MaxMsgs > 0 || c.MaxBytes > 0 || c.MaxMsgsPerSubject > 0 {
		bad = append(bad, "it has a max_age, max_msgs, max_bytes or max_msgs_per_subject limit, which would silently drop queued events")
	}
	if !subjectCovered(c.Subjects, s.layout.filter()) {
		bad = append(bad, fmt.Sprintf("its subjects %v do not include %s", c.Subjects, s.layout.filter()))
	}
	if len(bad) > 0 {
		return fmt.Errorf("store: stream %s cannot hold connectord's store: %s", c.Name, strings.Join(bad, "; "))
	}
	return nil
}

// infoAttempt bounds one stream info request: a stream created a moment
// ago by another replica does not answer until it has a leader, and the
// request is then simply unanswered.
const infoAttempt = time.Second

// findStream looks the stream up, asking again while the request goes
// unanswered, within ctx.
func (s *Store) findStream(ctx context.Context) (jetstream.Stream, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, infoAttempt)
		st, err := s.js.Stream(actx, s.opts.stream)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return st, err
		}
	}
}

// streamInfo asks the stream leader for the stream's info, asking again
// while the request goes unanswered (a leader being elected does not
// answer), within ctx.
func (s *Store) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, infoAttempt)
		info, err := s.stream.Info(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return info, err
		}
	}
}

func hasLeader(info *jetstream.StreamInfo) bool {
	return info.Cluster == nil || info.Config.Replicas <= 1 || info.Cluster.Leader != ""
}

// waitLeader re-reads the stream's info until it has a leader, bounded by
// ctx (the connect timeout): a stream another replica has just created
// elects its leader a moment later, and several replicas starting at once
// must not fail for that.
func (s *Store) waitLeader(ctx context.Context, info *jetstream.StreamInfo) (*jetstream.StreamInfo, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error // while there is no leader the info request may fail too
	for !hasLeader(info) {
		select {
		case <-ctx.Done():
			why := ""
			if last != nil {
				why = fmt.Sprintf(" (last answer: %v)", last)
			}
			return nil, fmt.Errorf("store: stream %s has no leader within %s%s: is a majority of its %d servers up?", s.opts.stream, s.opts.connect, why, info.Config.Replicas)
		case <-tick.C:
		}
		next, err := s.streamInfo(ctx)
		if err != nil {
			last = err
			continue
		}
		info = next
	}
	return info, nil
}

func subjectCovered(subjects []string, want string) bool {
	for _, s := range subjects {
		if s == want || s == ">" {
			return true
		}
	}
	return false
}

// versionAtLeast compares a "2.15.2" or "2.14.0-beta.1" version.
func versionAtLeast(v string, min [3]int) bool {
	core, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), "-")
	parts := strings.Split(core, ".")
	for i := range 3 {
		n := 0
		if i < len(parts) {
			var err error
			if n, err = strconv.Atoi(parts[i]); err != nil {
				return false
			}
		}
		if n != min[i] {
			return n > min[i]
		}
	}
	return true
}
