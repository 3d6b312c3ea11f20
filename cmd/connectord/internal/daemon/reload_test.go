package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	_ "github.com/connectord/connectord/sources/intercompoller"
	_ "github.com/connectord/connectord/sources/intercomwebhook"
	_ "github.com/connectord/connectord/transforms/filter"
	_ "github.com/connectord/connectord/transforms/jq"
)

const webhookPipeline = `name: hooks
source:
  intercom_webhook: {path: /hooks, client_secret: s3cret}
transforms:
  - jq: 'include "intercom"; webhook_event | .message.stage1 = "%[1]s"'
  - jq: '.message.stage2 = "%[1]s"'
sink:
  http: {url: %[2]q, signature: {key: k}, max_in_flight: 8, retry: {initial_interval: 10ms}}
`

// envelopes records the callbacks: notification id → the generation tags
// each stage wrote.
type envelopes struct {
	mu   sync.Mutex
	seen map[string][]string
}

func (e *envelopes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var env struct {
		Message struct {
			EventID, Stage1, Stage2 string
		} `json:"message"`
	}
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &env)
	e.mu.Lock()
	e.seen[env.Message.EventID] = append(e.seen[env.Message.EventID], env.Message.Stage1+"/"+env.Message.Stage2)
	e.mu.Unlock()
}

func (e *envelopes) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen)
}

// TestReloadUnderWebhookStream rewrites a webhook pipeline's jq 20 times
// (and saves a syntax error once) while notifications stream in: every
// request is answered 2xx, every notification is delivered exactly once,
// and each event went through the transforms of one generation only.
func TestReloadUnderWebhookStream(t *testing.T) {
	recv := &envelopes{seen: map[string][]string{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	dir, file := pipelineDir(t, "hooks.yaml", fmt.Sprintf(webhookPipeline, "G0", srv.URL))
	d, reloads, stop := start(t, dir)
	defer stop()
	defer d.Shutdown(context.Background())

	// A steady stream from 4 senders until told to stop.
	var (
		sent, bad atomic.Int64
		badMu     sync.Mutex
		badCodes  []string
		done      = make(chan struct{})
		wg        sync.WaitGroup
	)
	url := "http://" + d.ListenAddr() + "/hooks"
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				id := fmt.Sprintf("notif_%d_%d", w, i)
				body := fmt.Sprintf(`{"type":"notification_event","id":%q,"topic":"conversation.user.replied","app_id":"a","data":{"type":"notification_event_data","item":{"type":"conversation","id":"%d"}},"created_at":1719492795}`, id, i%17)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
				req.Header.Set("X-Hub-Signature", intercomsim.Sign("s3cret", []byte(body)))
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					badMu.Lock()
					badCodes = append(badCodes, err.Error())
					badMu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent.Add(1)
				if resp.StatusCode/100 != 2 {
					bad.Add(1)
					badMu.Lock()
					badCodes = append(badCodes, resp.Status)
					badMu.Unlock()
				}
			}
		}()
	}

	for gen := 1; gen <= 20; gen++ {
		if gen == 10 {
			writeAtomically(t, file, "name: hooks\nsource: {intercom_webhook: {path: /hooks\n")
			if st := <-reloads; st.OK {
				t.Fatal("a syntax error was applied")
			}
		}
		before := sent.Load()
		writeAtomically(t, file, fmt.Sprintf(webhookPipeline, fmt.Sprintf("G%d", gen), srv.URL))
		st := <-reloads
		if !st.OK || fmt.Sprint(st.Result.Replaced) != "[hooks]" {
			t.Fatalf("edit %d: reload %+v", gen, st)
		}
		// Let some traffic reach the new generation before the next edit.
		eventually(t, "traffic after the reload", func() bool { return sent.Load() > before+20 })
	}
	close(done)
	wg.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d requests were not answered 2xx during reloads: %v", bad.Load(), badCodes[:min(len(badCodes), 5)])
	}
	total := int(sent.Load())
	eventually(t, "every notification delivered", func() bool { return recv.count() == total })

	recv.mu.Lock()
	defer recv.mu.Unlock()
	gens := map[string]bool{}
	for id, tags := range recv.seen {
		if len(tags) != 1 {
			t.Errorf("%s delivered %d times", id, len(tags))
		}
		parts := strings.Split(tags[0], "/")
		if parts[0] != parts[1] {
			t.Errorf("%s went through two generations' transforms: %s", id, tags[0])
		}
		gens[parts[0]] = true
	}
	var seen []string
	for g := range gens {
		seen = append(seen, g)
	}
	sort.Strings(seen)
	if len(gens) < 15 {
		t.Errorf("events came from only %d generations %v; the stream did not span the reloads", len(gens), seen)
	}
	t.Logf("%d notifications over %d generations, all answered 2xx and delivered once", total, len(gens))
}

const pollPipeline = `name: convs
source:
  intercom_poller:
    api: %q
    token: tok
    refresh_interval: %s
    resource: conversations
    url: /conversations?order=desc&sort=updated_at
    idField: id
    start: all
    datesConfiguration: {updatedDateField: updated_at, updatedDateFormat: timestamp, updatedDateTimezone: GMT,
                         createdDateField: created_at, createdDateFormat: timestamp, createdDateTimezone: GMT}
transforms:
  - jq: 'include "intercom"; poll_event'
sink:
  http: {url: %q, signature: {key: k}}
`

// TestChangedPollerResumesFromCursor edits a running poller: the new
// generation continues from the stored cursor, so the events delivered are
// exactly the changes made, none twice.
func TestChangedPollerResumesFromCursor(t *testing.T) {
	clock := &stepClock{t: time.Now().Add(-time.Hour).Truncate(time.Second)}
	sim := intercomsim.New(intercomsim.Options{Token: "tok", Clock: clock})
	api := httptest.NewServer(sim)
	defer api.Close()
	type change struct{ id, at string }
	var changes []change
	for i := 0; i < 30; i++ {
		clock.add(time.Second)
		v := sim.Create(intercomsim.Conversations)
		changes = append(changes, change{v.ID, fmt.Sprint(v.UpdatedAt)})
	}
	var mu sync.Mutex
	var got []change
	recvSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Message struct {
				Raw struct {
					Conversations []struct {
						ID        string `json:"id"`
						UpdatedAt int64  `json:"updated_at"`
					} `json:"conversations"`
				} `json:"raw"`
			} `json:"message"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &env)
		mu.Lock()
		for _, c := range env.Message.Raw.Conversations {
			got = append(got, change{c.ID, fmt.Sprint(c.UpdatedAt)})
		}
		mu.Unlock()
	}))
	defer recvSrv.Close()
	delivered := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	dir, file := pipelineDir(t, "convs.yaml", fmt.Sprintf(pollPipeline, api.URL, "1s", recvSrv.URL))
	d, reloads, stop := start(t, dir)
	defer stop()
	defer d.Shutdown(context.Background())
	eventually(t, "the first poll's events", func() bool { return delivered() == 30 })

	// More changes, then an edit (a new interval) while they are pending.
	for i := 0; i < 10; i++ {
		clock.add(time.Second)
		v, _ := sim.Update(intercomsim.Conversations, changes[i].id)
		changes = append(changes, change{v.ID, fmt.Sprint(v.UpdatedAt)})
	}
	writeAtomically(t, file, fmt.Sprintf(pollPipeline, api.URL, "2s", recvSrv.URL))
	if st := <-reloads; fmt.Sprint(st.Result.Replaced) != "[convs]" {
		t.Fatalf("reload: %+v", st)
	}
	eventually(t, "the changes after the edit", func() bool { return delivered() == 40 })
	clock.add(time.Second)
	v := sim.Create(intercomsim.Conversations)
	changes = append(changes, change{v.ID, fmt.Sprint(v.UpdatedAt)})
	eventually(t, "a change made after the reload", func() bool { return delivered() == 41 })

	mu.Lock()
	defer mu.Unlock()
	key := func(c change) string { return c.id + "@" + c.at }
	want := map[string]bool{}
	for _, c := range changes {
		want[key(c)] = true
	}
	seen := map[string]bool{}
	for _, c := range got {
		if seen[key(c)] {
			t.Errorf("change %s delivered twice", key(c))
		}
		seen[key(c)] = true
		if !want[key(c)] {
			t.Errorf("unexpected change %s", key(c))
		}
	}
	if len(seen) != len(want) {
		t.Errorf("delivered %d distinct changes, want %d", len(seen), len(want))
	}
}

// stepClock is the simulator's clock: test code moves it. Intercom
// timestamps are seconds, so changes one second apart are distinct.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
