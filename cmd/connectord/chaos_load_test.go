package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/fleet"
)

// testConnectord runs the test binary as connectord (TestMain's
// CONNECTORD_MAIN): fleet's replicas are then real `connectord run`
// processes of the code under test.
func testConnectord(args []string, env []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "CONNECTORD_MAIN="+strings.Join(args, " "))
	return cmd
}

// ack is one webhook notification the fleet answered 2xx: n-th change of
// object obj, sent only after change n-1 of obj was acknowledged, so the
// acknowledged order of an object's changes is their order.
type ack struct {
	obj string
	n   int
	at  time.Time
	via string // the replica that answered
}

// webhookLoad posts signed Intercom notifications for objs objects, rate
// per second in all, each object's changes one after the other, to the
// live replicas in turn; a change is retried (same notification, same
// id: deduplicated) on the next replica until one answers 2xx.
type webhookLoad struct {
	replicas []*fleet.Replica
	secret   string
	rate     int
	objs     int
	max      int // at most this many changes in all

	next   atomic.Uint64 // round robin over replicas
	sent   atomic.Int64  // attempts
	failed atomic.Int64  // attempts without a 2xx
	mu     sync.Mutex
	acks   []ack
}

func (l *webhookLoad) run(ctx context.Context) {
	tokens := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second / time.Duration(l.rate))
		defer t.Stop()
		for i := 0; i < l.max; i++ {
			select {
			case <-ctx.Done():
				close(tokens)
				return
			case <-t.C:
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				close(tokens)
				return
			}
		}
		close(tokens)
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: l.objs}}
	var wg sync.WaitGroup
	for o := range l.objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obj := fmt.Sprintf("w%02d", o)
			for n := 1; ; n++ {
				if _, ok := <-tokens; !ok {
					return
				}
				if !l.deliver(ctx, client, obj, n) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// deliver sends change n of obj until a replica acknowledges it; false
// when ctx ended first (the change may or may not be stored: not counted).
func (l *webhookLoad) deliver(ctx context.Context, client *http.Client, obj string, n int) bool {
	body := notification(obj, n)
	for ctx.Err() == nil {
		r := l.replicas[l.next.Add(1)%uint64(len(l.replicas))]
		addr := r.ListenAddr()
		if !r.Alive() || addr == "" {
			continue
		}
		l.sent.Add(1)
		status, err := intercomsim.SendWebhook(ctx, client, "http://"+addr+"/webhooks/intercom", l.secret, body)
		if err == nil && status/100 == 2 {
			l.mu.Lock()
			l.acks = append(l.acks, ack{obj: obj, n: n, at: time.Now(), via: r.ID})
			l.mu.Unlock()
			return true
		}
		l.failed.Add(1)
		pause := time.NewTimer(20 * time.Millisecond) // pacing before the next replica, not synchronisation
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		pause.Stop()
	}
	return false
}

func (l *webhookLoad) acked() []ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acks)
}

// notification is change n of conversation obj as Intercom would notify
// it; its id, and so the callback's eventId, names the change.
func notification(obj string, n int) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "notification_event", "id": notifID(obj, n), "topic": "conversation.admin.replied", "app_id": "chaos",
		"data":       map[string]any{"type": "notification_event_data", "item": map[string]any{"type": "conversation", "id": obj, "chaos_n": n}},
		"created_at": time.Now().Unix(),
	})
	return b
}

func notifID(obj string, n int) string { return fmt.Sprintf("notif_%s_%d", obj, n) }

// checked is what the receiver's log says about a set of changes.
type checked struct {
	delivered  int      // distinct changes answered 200
	duplicates int      // 200 answers beyond the first per change
	missing    []string // expected changes never answered 200
	inversions []string // an object's change first delivered before an earlier one
	idChanges  []string // a change delivered under two eventIds
	badSig     int
}

// change identifies what a delivery carries: webhook object and change
// number, or polled record and updated_at; ok false for other pipelines.
type change struct {
	obj string
	n   int64
}

func webhookChange(d fleet.Delivery) (change, bool) {
	var raw struct {
		ID   string
		Data struct {
			Item struct {
				ID     string
				ChaosN int64 `json:"chaos_n"`
			}
		}
	}
	if d.Pipeline != "hooks" || json.Unmarshal(d.Raw, &raw) != nil || raw.Data.Item.ID == "" {
		return change{}, false
	}
	return change{raw.Data.Item.ID, raw.Data.Item.ChaosN}, true
}

func pollChange(pipeline, resource string) func(fleet.Delivery) (change, bool) {
	return func(d fleet.Delivery) (change, bool) {
		if d.Pipeline != pipeline {
			return change{}, false
		}
		var raw map[string]json.RawMessage
		var recs []struct {
			ID        string
			UpdatedAt int64 `json:"updated_at"`
		}
		if json.Unmarshal(d.Raw, &raw) != nil || json.Unmarshal(raw[resource], &recs) != nil || len(recs) != 1 {
			return change{}, false
		}
		r := recs[0]
		return change{r.ID, r.UpdatedAt}, true
	}
}

// check compares the receiver's log with the changes expected (nil: no
// loss check), using of to read a delivery. Order: an object's changes,
// taken at their first 200, must come in increasing n.
func check(log []fleet.Delivery, of func(fleet.Delivery) (change, bool), expected []change) checked {
	var c checked
	first := map[change]bool{}
	ids := map[change]string{}
	last := map[string]int64{}
	for _, d := range log {
		ch, ok := of(d)
		if !ok {
			continue
		}
		if !d.Valid {
			c.badSig++
		}
		if id, seen := ids[ch]; seen && id != d.EventID {
			c.idChanges = append(c.idChanges, fmt.Sprintf("%v: %s and %s", ch, id, d.EventID))
		}
		ids[ch] = d.EventID
		if d.Status != http.StatusOK {
			continue
		}
		if first[ch] {
			c.duplicates++
			continue
		}
		first[ch] = true
		c.delivered++
		if prev, ok := last[ch.obj]; ok && ch.n < prev {
			c.inversions = append(c.inversions, fmt.Sprintf("%s: %d after %d (via %s at %s)", ch.obj, ch.n, prev, d.Replica, d.At.Format("15:04:05.000")))
		}
		last[ch.obj] = max(last[ch.obj], ch.n)
	}
	for _, e := range expected {
		if !first[e] {
			c.missing = append(c.missing, fmt.Sprintf("%s#%d", e.obj, e.n))
		}
	}
	sort.Strings(c.missing)
	return c
}

func ackedChanges(acks []ack) []change {
	out := make([]change, len(acks))
	for i, a := range acks {
		out[i] = change{a.obj, int64(a.n)}
	}
	return out
}

// finalVersions is every record of kind k at its current updated_at: what
// a poller must have delivered once the workspace is quiet.
func finalVersions(sim *intercomsim.Server, k intercomsim.Kind) []change {
	var out []change
	for _, v := range sim.Snapshot(k) {
		out = append(out, change{v.ID, v.UpdatedAt})
	}
	return out
}
