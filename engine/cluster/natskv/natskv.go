// Package natskv is the cluster.Coordinator of replicas that share a NATS
// JetStream store: leases are keys of one KV bucket (default cd_leases)
// whose bucket TTL is the lease TTL, granted and renewed by compare-and-set
// on the key's revision.
//
//   - Acquire: Create (the key is absent, deleted or expired), or, for the
//     holder that already has it, Update on the revision read.
//   - Renew: Update(revision): a stale copy (an older revision, or a lease
//     that expired and was taken) is refused by the server.
//   - Release: Delete with LastRevision, so only the current grant can give
//     the lease up; the next replica's Create then succeeds at once.
//
// The TTL is the bucket's (a stream max_age), not a per-key TTL: an Update
// drops a per-key TTL (see the design notes), while max_age counts from
// each revision's own write, so every renew restarts the clock.
package natskv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/internal/natsretry"
)

// DefaultBucket is the KV bucket of the leases unless configured.
const DefaultBucket = "cd_leases"

// Options configures New.
type Options struct {
	// Bucket is the KV bucket (default cd_leases). Replicas sharing a
	// store share it; two deployments on one cluster use two buckets.
	Bucket string
	// TTL is the lease TTL, the bucket's max age (default 10s). An
	// existing bucket with another TTL is refused.
	TTL time.Duration
	// Replicas of the bucket (default 1; give the store's, usually 3).
	Replicas int
}

// KV is the Coordinator. It is safe for concurrent use.
type KV struct {
	kv  jetstream.KeyValue
	ttl time.Duration
}

var (
	_ cluster.Coordinator = (*KV)(nil)
	_ cluster.Lister      = (*KV)(nil)
)

// New opens the bucket on nc, creating it if it does not exist.
func New(ctx context.Context, nc *nats.Conn, o Options) (*KV, error) {
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats: %w", err)
	}
	kv, err := openBucket(ctx, js, o)
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket %s: %w", o.Bucket, err)
	}
	st, err := waitForLeader(ctx, kv)
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket %s: %w", o.Bucket, err)
	}
	if st.TTL() != o.TTL {
		return nil, fmt.Errorf("cluster: lease bucket %s has a TTL of %s, configured %s: every replica must use one lease TTL (delete the bucket, or set the same TTL)", o.Bucket, st.TTL(), o.TTL)
	}
	return &KV{kv: kv, ttl: o.TTL}, nil
}

// openBucket finds the bucket or creates it. Replicas starting together
// race to create it, and the JetStream API, busy placing it, may not
// answer one of them in time: each attempt is bounded to 2 s, and they go
// on for up to bucketWait (or ctx).
func openBucket(ctx context.Context, js jetstream.JetStream, o Options) (jetstream.KeyValue, error) {
	deadline := time.Now().Add(bucketWait)
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		kv, err := js.KeyValue(actx, o.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(actx, jetstream.KeyValueConfig{
				Bucket:      o.Bucket,
				Description: "connectord leases (poller leadership, delivery partitions, members)",
				History:     1,
				TTL:         o.TTL,
				Replicas:    o.Replicas,
				Storage:     jetstream.FileStorage,
			})
		}
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return kv, err
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// waitForLeader returns the bucket's status once its stream has a leader:
// a replicated bucket just created answers a lease write with "no
// responders" until it has elected one, and, asked for its status while
// another replica is still creating it, "stream not found" or nothing at
// all (replicas started together failed so). It tries for up to
// bucketWait (or ctx), each attempt bounded to a second, and then
// returns the last error.
func waitForLeader(ctx context.Context, kv jetstream.KeyValue) (jetstream.KeyValueStatus, error) {
	deadline := time.Now().Add(bucketWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := kv.Status(actx)
		cancel()
		if err == nil {
			bs, ok := st.(*jetstream.KeyValueBucketStatus)
			if !ok || bs.StreamInfo().Cluster == nil || bs.StreamInfo().Cluster.Leader != "" || time.Now().After(deadline) {
				return st, nil // past the deadline, the first lease call reports what is wrong
			}
		} else if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// unanswered runs a lease request (a write, or a read) until a server
// answers it (natsretry.Unanswered), for up to noResponderWait.
func unanswered(ctx context.Context, request func() error) error {
	return natsretry.Unanswered(ctx, noResponderWait, 200*time.Millisecond, request)
}

const noResponderWait = 2 * time.Second

// bucketWait bounds the wait for a new bucket's stream to be usable.
const bucketWait = 10 * time.Second

var _ cluster.Waker = (*KV)(nil)

// Wake implements cluster.Waker with a watch of name's key, signalling
// its removal (a release): an expiry the waiter already times by
// HeldError.Until, and a renew changes nothing for it.
func (c *KV) Wake(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	w, err := c.kv.Watch(ctx, Key(name), jetstream.UpdatesOnly())
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: watch %s: %w", name, err)
	}
	ch := make(chan struct{}, 1)
	go func() { // ends when the watch is stopped: Updates is closed
		for e := range w.Updates() {
			if e == nil || (e.Operation() != jetstream.KeyValueDelete && e.Operation() != jetstream.KeyValuePurge) {
				continue
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch, func() { _ = w.Stop() }, nil
}

// TTL implements cluster.Coordinator.
func (c *KV) TTL() time.Duration { return c.ttl }

type value struct {
	Name   string    `json:"name"`
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

// Acquire implements cluster.Coordinator.
func (c *KV) Acquire(ctx context.Context, name, holder string) (cluster.Lease, error) {
	key := Key(name)
	var e jetstream.KeyValueEntry
	err := unanswered(ctx, func() (err error) {
		e, err = c.kv.Get(ctx, key)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		since := time.Now().UTC()
		var rev uint64
		err := unanswered(ctx, func() (err error) {
			rev, err = c.kv.Create(ctx, key, encode(name, holder, since))
			return err
		})
		if errors.Is(err, jetstream.ErrKeyExists) {
			return cluster.Lease{}, cluster.ErrHeld // another replica won the race
		}
		if err != nil {
			return cluster.Lease{}, fmt.Errorf("cluster: acquire %s: %w", name, err)
		}
		return cluster.Lease{Name: name, Holder: holder, Revision: rev, Since: since, Expires: since.Add(c.ttl)}, nil
	case err != nil:
		return cluster.Lease{}, fmt.Errorf("cluster: acquire %s: %w", name, err)
	}
	var v value
	if err := json.Unmarshal(e.Value(), &v); err != nil || v.Holder != holder {
		until := c.expires(e)
		if !time.Now().Before(until) {
			return c.takeOver(ctx, name, holder, e.Revision(), until)
		}
		return cluster.Lease{}, &cluster.HeldError{Until: until}
	}
	l, err := c.Renew(ctx, cluster.Lease{Name: name, Holder: holder, Revision: e.Revision(), Since: v.Since})
	if errors.Is(err, cluster.ErrLost) {
		return cluster.Lease{}, cluster.ErrHeld
	}
	return l, err
}

// takeOver grants name to holder in place of a grant whose TTL has run out
// but which the server has not removed yet: it does so on its own age
// check, up to a few hundred milliseconds later. The update is on the
// expired grant's revision, so a renew by its holder that got in first
// wins (ErrHeld here), and one that comes later is refused (ErrLost there).
// The holder stopped starting work a margin before this instant (Held).
func (c *KV) takeOver(ctx context.Context, name, holder string, rev uint64, until time.Time) (cluster.Lease, error) {
	since := time.Now().UTC()
	var nrev uint64
	err := unanswered(ctx, func() (err error) {
		nrev, err = c.kv.Update(ctx, Key(name), encode(name, holder, since), rev)
		return err
	})
	switch {
	case isWrongLastSeq(err) || errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		// Renewed, or removed and created meanwhile: ask again.
		return cluster.Lease{}, &cluster.HeldError{Until: until}
	case err != nil:
		return cluster.Lease{}, fmt.Errorf("cluster: acquire %s: %w", name, err)
	}
	return cluster.Lease{Name: name, Holder: holder, Revision: nrev, Since: since, Expires: since.Add(c.ttl)}, nil
}

// expires is when the grant e lapses unless renewed: the bucket's max age
// after the server stored it.
func (c *KV) expires(e jetstream.KeyValueEntry) time.Time { return e.Created().Add(c.ttl) }

// Renew implements cluster.Coordinator.
func (c *KV) Renew(ctx context.Context, l cluster.Lease) (cluster.Lease, error) {
	var rev uint64
	err := unanswered(ctx, func() (err error) {
		rev, err = c.kv.Update(ctx, Key(l.Name), encode(l.Name, l.Holder, l.Since), l.Revision)
		return err
	})
	if isWrongLastSeq(err) || errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return cluster.Lease{}, cluster.ErrLost
	}
	if err != nil {
		return cluster.Lease{}, fmt.Errorf("cluster: renew %s: %w", l.Name, err)
	}
	l.Revision = rev
	l.Expires = time.Now().Add(c.ttl) // at the latest: the server stored it before now
	return l, nil
}

// Release implements cluster.Coordinator.
func (c *KV) Release(ctx context.Context, l cluster.Lease) error {
	err := unanswered(ctx, func() error {
		return c.kv.Delete(ctx, Key(l.Name), jetstream.LastRevision(l.Revision))
	})
	if isWrongLastSeq(err) {
		return cluster.ErrLost
	}
	if err != nil {
		return fmt.Errorf("cluster: release %s: %w", l.Name, err)
	}
	return nil
}

// Leases implements cluster.Lister: the live leases whose name starts with
// prefix.
func (c *KV) Leases(ctx context.Context, prefix string) ([]cluster.Lease, error) {
	// One lister: the unfiltered one made first and dropped for a
	// filtered one cost a consumer on the server for every listing.
	var keys jetstream.KeyLister
	var err error
	if filters := keyFilters(prefix); filters != nil {
		keys, err = c.kv.ListKeysFiltered(ctx, filters...)
	} else {
		keys, err = c.kv.ListKeys(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: list leases: %w", err)
	}
	// A filtered lister may report a key twice while the bucket is
	// written (nats.go's ListKeysFiltered says so): each lease once.
	var names []string
	seen := map[string]bool{}
	for k := range keys.Keys() {
		if !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	_ = keys.Stop() // the lister stops itself once drained
	var out []cluster.Lease
	for _, k := range names {
		var e jetstream.KeyValueEntry
		err := unanswered(ctx, func() (err error) {
			e, err = c.kv.Get(ctx, k)
			return err
		})
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released or expired since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: list leases: %w", err)
		}
		var v value
		if json.Unmarshal(e.Value(), &v) != nil || !strings.HasPrefix(v.Name, prefix) {
			continue
		}
		exp := c.expires(e)
		if !time.Now().Before(exp) {
			continue // run out: the server removes it on its next age check
		}
		out = append(out, cluster.Lease{Name: v.Name, Holder: v.Holder, Revision: e.Revision(), Since: v.Since, Expires: exp})
	}
	return out, nil
}

func encode(name, holder string, since time.Time) []byte {
	b, _ := json.Marshal(value{Name: name, Holder: holder, Since: since})
	return b
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// keyFilters narrows a listing of the leases whose name starts with
// prefix, when prefix is a plain key ending in ".": its keys are
// prefix + ">" (the members, say, and not the many partition leases),
// and a name with unusual characters is one "="-token ("*"). nil: list
// every key.
func keyFilters(prefix string) []string {
	if !strings.HasSuffix(prefix, ".") || !plain(strings.TrimSuffix(prefix, ".")) {
		return nil
	}
	return []string{prefix + ">", "*"}
}

// Key is the KV key of a lease name: the name itself when it is a valid
// key not starting with "=", else "=" and its base64url form.
func Key(name string) string {
	if plain(name) {
		return name
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func plain(s string) bool {
	if s == "" || s[0] == '=' || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") || len(s) > 256 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-/_=.", r):
		default:
			return false
		}
	}
	return true
}
