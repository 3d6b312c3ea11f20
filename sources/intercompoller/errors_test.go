package intercompoller

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/cmd/connectord/intercomsim"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

func TestServerErrorBurstsAreRetriedWithinThePoll(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		h := newHarness(t, intercomsim.Options{Seed: 8}, setMode(mode))
		h.sim.Populate(intercomsim.Conversations, 300, epoch.Add(-24*time.Hour), epoch.Add(-time.Hour))
		h.sim.OnRequest(func(r intercomsim.Request) {
			if r.Page == 3 && h.sim.Stats().Injected == 0 {
				h.sim.FailNext(maxServerRetries, http.StatusInternalServerError)
			}
		})
		h.start()
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
		if got := h.waiter.waitsOf(waitBackoff); len(got) != maxServerRetries || got[0] != time.Second || got[3] != 8*time.Second {
			t.Errorf("backoff waits %v, want 1s 2s 4s 8s", got)
		}
		if e := h.sourceError(); e != "" {
			t.Errorf("source error after a recovered poll: %s", e)
		}
	})
}

func TestServerErrorsBeyondTheBudgetFailThePollAndTheNextOneRecovers(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		h := newHarness(t, intercomsim.Options{Seed: 9}, setMode(mode))
		h.sim.Populate(intercomsim.Conversations, 300, epoch.Add(-24*time.Hour), epoch.Add(-time.Hour))
		var failed bool
		h.sim.OnRequest(func(r intercomsim.Request) {
			if r.Page == 4 && !failed {
				failed = true
				h.sim.FailNext(maxServerRetries+1, http.StatusBadGateway)
			}
		})
		h.start()
		e := h.sourceError()
		if !strings.Contains(e, `pipeline "p"`) || !strings.Contains(e, "502") {
			t.Errorf("source error %q should name the pipeline and the status", e)
		}
		h.clock.Advance(time.Minute)
		h.poll()
		if e := h.sourceError(); e != "" {
			t.Errorf("source error after a good poll: %s", e)
		}
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
	})
}

func TestRateLimit(t *testing.T) {
	t.Run("budget is waited out, never exceeded", func(t *testing.T) {
		h := newHarness(t, intercomsim.Options{Seed: 10, RateLimit: 3, RateWindow: 10 * time.Second}, nil)
		h.sim.Populate(intercomsim.Conversations, 500, epoch.Add(-24*time.Hour), epoch.Add(-time.Hour))
		h.start()
		h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
		if st := h.sim.Stats(); st.RateLimited != 0 || st.Requests != 10 {
			t.Errorf("stats %+v: want 10 requests and no 429", st)
		}
		waits := h.waiter.waitsOf(waitRateLimit)
		if len(waits) != 3 {
			t.Errorf("rate-limit waits %v, want 3 (after requests 3, 6 and 9)", waits)
		}
		for _, w := range waits {
			if w <= 0 || w > 10*time.Second {
				t.Errorf("rate-limit wait %s outside (0, 10s]", w)
			}
		}
	})
	t.Run("429 waits for Retry-After", func(t *testing.T) {
		modes(t, func(t *testing.T, mode string) {
			h := newHarness(t, intercomsim.Options{Seed: 11}, setMode(mode))
			h.sim.Populate(intercomsim.Conversations, 300, epoch.Add(-24*time.Hour), epoch.Add(-time.Hour))
			h.sim.OnRequest(func(r intercomsim.Request) {
				if r.Page == 2 && h.sim.Stats().Injected == 0 {
					h.sim.FailNext(5, http.StatusTooManyRequests)
				}
			})
			h.start()
			h.expectExactly(h.sim.Snapshot(intercomsim.Conversations))
			if got := h.waiter.waitsOf(waitRateLimit); len(got) != 5 || got[0] != time.Second {
				t.Errorf("429 waits %v, want five of 1s (Retry-After)", got)
			}
		})
	})
}

func TestUnauthorizedIsReportedWithoutTheToken(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 12}, func(o *Options) { o.Token = "wrong-token-value" })
	h.sim.Populate(intercomsim.Conversations, 10, epoch.Add(-24*time.Hour), epoch.Add(-time.Hour))
	h.start()
	e := h.sourceError()
	for _, want := range []string{`pipeline "p"`, "401", "check the token"} {
		if !strings.Contains(e, want) {
			t.Errorf("source error %q lacks %q", e, want)
		}
	}
	if strings.Contains(e, "wrong-token-value") || strings.Contains(e, testToken) {
		t.Errorf("source error %q contains a token", e)
	}
	if len(h.waiter.waitsOf(waitBackoff)) != 0 {
		t.Error("a 401 was retried within the poll")
	}
	// It keeps trying at the interval.
	h.clock.Advance(time.Minute)
	h.poll()
	if st := h.sim.Stats(); st.Unauthorized != 2 {
		t.Errorf("%d unauthorized requests after two polls, want 2", st.Unauthorized)
	}
	h.expectExactly(nil)
}

func TestTokenRef(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 13}, func(o *Options) { o.Token, o.TokenRef = "", "main" })
	v := h.sim.CreateAt(intercomsim.Conversations, epoch.Unix()-60, epoch.Unix()-60)
	h.start()
	if e := h.sourceError(); !strings.Contains(e, `no stored OAuth token "main"`) {
		t.Fatalf("source error %q, want a missing-token message", e)
	}
	if h.sim.Requests() != 0 {
		t.Errorf("%d requests without a token", h.sim.Requests())
	}
	var b store.Batch
	b.Put(testPipeline, intercom.TokenKey("main"), []byte(`{"access_token":"`+testToken+`","token_type":"Bearer"}`))
	if err := h.st.Commit(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	h.poll()
	if e := h.sourceError(); e != "" {
		t.Errorf("source error with a stored token: %s", e)
	}
	h.expectExactly([]intercomsim.Version{v})
}

func TestIntercomVersionHeader(t *testing.T) {
	h := newHarness(t, intercomsim.Options{Seed: 14}, func(o *Options) { o.IntercomVersion = "2.14" })
	got := make(chan string, 10)
	h.sim.OnRequest(func(r intercomsim.Request) { got <- r.Header.Get("Intercom-Version") })
	h.start()
	if v := <-got; v != "2.14" {
		t.Errorf("Intercom-Version %q, want 2.14", v)
	}
}
