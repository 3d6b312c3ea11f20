package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/cmd/connectord/internal/daemon"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"

	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sources/intercompoller"
	_ "github.com/connectord/connectord/sources/intercomwebhook"
	_ "github.com/connectord/connectord/transforms/jq"
)

// receiver records callback bodies; status is what it answers.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	status atomic.Int32
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	st := int(r.status.Load())
	if st == 200 {
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
	}
	w.WriteHeader(st)
}

func (r *receiver) count(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.bodies {
		if strings.Contains(b, sub) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TestConsoleInBrowser drives the console in headless Chromium: a bad
// callback URL is shown at its field; a polling instance and a webhooks
// instance are created through the form and the simulator's OAuth; events
// arrive from the simulator; a polling instance without callback URL holds
// its events until the edit form sets one, then lists them under Recent
// deliveries, and is deleted; a dead letter is replayed with the button.
func TestConsoleInBrowser(t *testing.T) {
	sim := intercomsim.New(intercomsim.Options{Token: "sim-token", ClientID: "cid", ClientSecret: "csecret"})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	good := &receiver{}
	good.status.Store(200)
	goodSrv := httptest.NewServer(good)
	t.Cleanup(goodSrv.Close)
	flaky := &receiver{}
	flaky.status.Store(400)
	flakySrv := httptest.NewServer(flaky)
	t.Cleanup(flakySrv.Close)

	env := map[string]string{"INTERCOM_API": simSrv.URL}
	configDir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Config{
		ConfigDir: configDir, DataDir: t.TempDir(), Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		DrainTimeout: time.Second,
		Env:          func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Instances:    soc.APIConfig{TokenURL: simSrv.URL + intercomsim.TokenPath, AuthorizeURL: simSrv.URL + intercomsim.AuthorizePath},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	base := "http://" + d.AdminAddr()

	ctx := browser(t)
	// poll paces the two retry loops below (polling with a deadline).
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	// navigate opens url, trying again while the navigation a previous
	// click started still aborts it (net::ERR_ABORTED, once in CI: the
	// element waited for after a submit can be the page's before it).
	navigate := func(url string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := chromedp.Do(ctx, chromedp.Navigate(url))
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "ERR_ABORTED") || time.Now().After(deadline) {
				t.Fatalf("opening %s: %v", url, err)
			}
			<-poll.C
		}
	}
	fill := func(name, callback, typ, interval string) []chromedp.Action[chromedp.Void] {
		navigate(base + "/console/new")
		return []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.CSS(`#create`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), name),
			chromedp.SendKeys(chromedp.CSS(`#tags`), "Marketing"),
			chromedp.SendKeys(chromedp.CSS(`#client_id`), "cid"),
			chromedp.SendKeys(chromedp.CSS(`#client_secret`), "csecret"),
			chromedp.SetValue(chromedp.CSS(`#event_type`), typ),
			chromedp.SendKeys(chromedp.CSS(`#callback_url`), callback),
			chromedp.SendKeys(chromedp.CSS(`#signature_key`), "sigkey"),
			chromedp.SetValue(chromedp.CSS(`#refresh_interval`), interval),
			chromedp.Click(chromedp.CSS(`#connect`)),
		}
	}
	// textUntil reads sel's text until ok accepts it or 10 s pass, and
	// returns the last read: after a click the element waited for may be
	// the page's before it navigates, and a node read then is gone ("No
	// node with given id found", seen once in a cold CI run).
	textUntil := func(sel string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
			if err == nil && ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				if err != nil {
					t.Fatalf("reading %s: %v", sel, err)
				}
				return s
			}
			<-poll.C
		}
	}
	text := func(sel string) string {
		t.Helper()
		return textUntil(sel, func(string) bool { return true })
	}

	// A bad callback URL comes back at its field, before any OAuth.
	if err := chromedp.Do(ctx, append(fill("Bad", "ftp://nope", "polling", "1s"), chromedp.WaitVisible(chromedp.CSS(`[data-field=callback_url]`)))...); err != nil {
		t.Fatalf("bad callback URL: %v", err)
	}
	if s := text(`[data-field=callback_url]`); !strings.Contains(s, "http or https") {
		t.Errorf("callback_url error = %q", s)
	}
	// A bad date format fails the poller's own validation, shown at its field.
	navigate(base + "/console/new")
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(chromedp.CSS(`#create`))),
		chromedp.SendKeys(chromedp.CSS(chromedp.CSS(`#name`)), "Bad dates"), chromedp.SetValue(chromedp.CSS(`#updatedDateFormat_conversations`), "kk"),
		chromedp.Click(chromedp.CSS(chromedp.CSS(`#connect`))), chromedp.WaitVisible(chromedp.CSS(`[data-field=updatedDateFormat_conversations]`))); err != nil {
		t.Fatalf("bad date format: %v", err)
	}

	// A polling instance: Connect Intercom → simulator authorize → back.
	if err := chromedp.Do(ctx, append(fill("Console Polling", goodSrv.URL+"/events", "polling", "1s"), chromedp.WaitVisible(chromedp.CSS(`#pipelines`)))...); err != nil {
		t.Fatalf("creating the polling instance: %v", err)
	}
	if s := text(`#file`); !strings.Contains(s, "console-polling-conversations") || strings.Contains(s, "sigkey") {
		t.Errorf("pipeline file shown: %q", s)
	}
	waitFor(t, "the polling pipeline to run", func() bool {
		for _, st := range d.Runtime().Status() {
			if st.Name == "console-polling-conversations" && !st.Started.IsZero() {
				return true
			}
		}
		return false
	})
	// Polling starts at "now" (the start second included): this change arrives.
	v := sim.Create(intercomsim.Conversations)
	waitFor(t, "the polled conversation at the receiver", func() bool { return good.count(`"objectId":"`+v.ID+`"`) == 1 })

	// A polling instance without callback URL holds its events; setting
	// one in the edit form delivers those that waited, and the instance
	// page lists them under Recent deliveries.
	navigate(base + "/console/new")
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#create`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Console Held"),
		chromedp.SendKeys(chromedp.CSS(`#client_id`), "cid"), chromedp.SendKeys(chromedp.CSS(`#client_secret`), "csecret"),
		chromedp.SetValue(chromedp.CSS(`#refresh_interval`), "1s"),
		chromedp.Click(chromedp.CSS(`#connect`)), chromedp.WaitVisible(chromedp.CSS(`#notice`))); err != nil {
		t.Fatalf("creating the held instance: %v", err)
	}
	if s := textUntil(`#file`, func(s string) bool { return strings.Contains(s, "hold: ") }); !strings.Contains(s, "hold: ") {
		t.Errorf("held instance's file: %q", s)
	}
	waitFor(t, "the held pipeline to run", func() bool {
		for _, st := range d.Runtime().Status() {
			if st.Name == "console-held-conversations" && !st.Started.IsZero() {
				return true
			}
		}
		return false
	})
	held := sim.Create(intercomsim.Conversations)
	waitFor(t, "the held event in the queue", func() bool {
		s, err := d.Store().Stats(context.Background(), "console-held-conversations")
		return err == nil && s.Queued >= 1
	})
	heldBody := `"objectId":"` + held.ID + `","objectType":"conversations"}],"instanceName":"console-held-conversations"`
	if good.count(heldBody) != 0 {
		t.Fatalf("held event delivered before a callback URL was set")
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#callback_url`), goodSrv.URL+"/held"),
		chromedp.Click(chromedp.CSS(`#save`)), chromedp.WaitVisible(chromedp.CSS(`#pipelines`))); err != nil {
		t.Fatalf("editing the held instance: %v", err)
	}
	edited := func(s string) bool { return !strings.Contains(s, "hold:") && strings.Contains(s, goodSrv.URL+"/held") }
	if s := textUntil(`#file`, edited); !edited(s) {
		t.Errorf("file after the edit: %q", s)
	}
	waitFor(t, "the event that waited at the receiver", func() bool { return good.count(heldBody) == 1 })
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`table.recent tr.delivery`))); err != nil {
		t.Fatalf("recent deliveries: %v", err)
	}
	if s := text(`table.recent`); !strings.Contains(s, "delivered") {
		t.Errorf("recent deliveries: %q", s)
	}

	// Delete it (the browser's confirm answered yes): it leaves the list
	// and its file goes.
	heldFile := filepath.Join(configDir, "console-held.yaml")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.confirm = () => true; true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#delete`)), chromedp.WaitVisible(chromedp.CSS(`#instances`))); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	if s := text(`#instances`); strings.Contains(s, "Console Held") {
		t.Errorf("deleted instance still listed: %q", s)
	}
	if _, err := os.Stat(heldFile); !os.IsNotExist(err) {
		t.Errorf("file of the deleted instance: %v", err)
	}

	// A webhooks instance whose receiver refuses at first: dead letter.
	if err := chromedp.Do(ctx, append(fill("Console Hooks", flakySrv.URL+"/events", "webhooks", "15"), chromedp.WaitVisible(chromedp.CSS(`#webhook-url`)))...); err != nil {
		t.Fatalf("creating the webhooks instance: %v", err)
	}
	hookURL, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#webhook-url`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(hookURL, "/webhooks/intercom/console-hooks") {
		t.Fatalf("webhook URL %q", hookURL)
	}
	waitFor(t, "the webhook route", func() bool {
		resp, err := http.Head(hookURL)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	ch := sim.Create(intercomsim.Conversations)
	body, err := sim.Notification(intercomsim.Change{Version: ch, Created: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := intercomsim.SendWebhook(context.Background(), http.DefaultClient, hookURL, "csecret", body); err != nil || st != 200 {
		t.Fatalf("webhook: %d %v", st, err)
	}
	waitFor(t, "the dead letter", func() bool {
		s, err := d.Store().Stats(context.Background(), "console-hooks-webhooks")
		return err == nil && s.DeadLetters == 1
	})
	flaky.status.Store(200)
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`button.replay`)), chromedp.Click(chromedp.CSS(`button.replay`)), chromedp.WaitVisible(chromedp.CSS(`#pipelines`))); err != nil {
		t.Fatalf("replaying: %v", err)
	}
	waitFor(t, "the replayed event at the receiver", func() bool { return flaky.count(`"objectId":"`+ch.ID+`"`) == 1 })

	// The list shows both instances.
	navigate(base + "/console")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#instances`))); err != nil {
		t.Fatal(err)
	}
	if s := text(`#instances`); !strings.Contains(s, "Console Polling") || !strings.Contains(s, "Console Hooks") {
		t.Errorf("instance list: %q", s)
	}
}

func browser(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		t.Fatal("Chromium is not installed at /usr/bin/chromium; install the chromium package")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}
