package httpsink_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

var testEvent = engine.Delivery{ID: "evt", Key: "obj", Body: []byte(`{"message":{}}`), Attempt: 1}

func TestResponseClassification(t *testing.T) {
	now := time.Date(2024, 6, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		class      engine.Class
		retryAfter time.Duration
	}{
		{name: "500 retries", status: 500, class: engine.Retry},
		{name: "502 retries", status: 502, class: engine.Retry},
		{name: "503 Retry-After seconds", status: 503, header: map[string]string{"Retry-After": "7"},
			class: engine.Retry, retryAfter: 7 * time.Second},
		{name: "429 Retry-After HTTP-date", status: 429,
			header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			class:  engine.Retry, retryAfter: 90 * time.Second},
		{name: "429 garbage Retry-After ignored", status: 429, header: map[string]string{"Retry-After": "soon"},
			class: engine.Retry},
		{name: "503 absurd Retry-After capped", status: 503, header: map[string]string{"Retry-After": "999999999999999999999"},
			class: engine.Retry, retryAfter: 24 * time.Hour},
		{name: "408 retries", status: 408, class: engine.Retry},
		{name: "400 is permanent with snippet", status: 400, body: `{"error":"field x is invalid"}`,
			class: engine.Permanent},
		{name: "404 is permanent", status: 404, class: engine.Permanent},
		{name: "Retry-After ignored on permanent", status: 422, header: map[string]string{"Retry-After": "7"},
			class: engine.Permanent},
		{name: "410 is gone", status: 410, body: "endpoint disabled", class: engine.Gone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			s := newSink(t, httpsink.Options{URL: srv.URL}, httpsink.WithClock(fixedClock{now}))
			de := deliveryError(t, s.Deliver(context.Background(), testEvent), tc.class)
			if de.Status != tc.status {
				t.Errorf("Status = %d, want %d", de.Status, tc.status)
			}
			if de.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", de.RetryAfter, tc.retryAfter)
			}
			if de.Response != tc.body {
				t.Errorf("Response = %q, want %q", de.Response, tc.body)
			}
		})
	}
}

func TestSuccessStatuses(t *testing.T) {
	for _, status := range []int{200, 201, 202, 204, 299} {
		srv, _ := newReceiver(t, status)
		s := newSink(t, httpsink.Options{URL: srv.URL})
		if err := s.Deliver(context.Background(), testEvent); err != nil {
			t.Errorf("status %d: %v, want nil", status, err)
		}
	}
}

func TestRedirectIsPermanentAndNotFollowed(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	s := newSink(t, httpsink.Options{URL: srv.URL + "/old"})
	de := deliveryError(t, s.Deliver(context.Background(), testEvent), engine.Permanent)
	if de.Status != http.StatusFound {
		t.Errorf("Status = %d, want 302", de.Status)
	}
	if followed.Load() {
		t.Error("the redirect was followed")
	}
}

// A long error body is cut to 1 KiB of valid UTF-8, and the connection is
// still reused afterwards because the rest was drained.
func TestErrorSnippetIsBoundedUTF8AndConnectionReused(t *testing.T) {
	long := "x" + strings.Repeat("é", 4000) // 'é' is 2 bytes: byte 1024 splits one
	fail := atomic.Bool{}
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(long))
		}
	}))
	defer srv.Close()
	s := newSink(t, httpsink.Options{URL: srv.URL})

	de := deliveryError(t, s.Deliver(context.Background(), testEvent), engine.Permanent)
	if len(de.Response) > 1024 || !utf8.ValidString(de.Response) || !strings.HasPrefix(long, de.Response) ||
		len(de.Response) < 1020 {
		t.Errorf("Response: %d bytes, valid UTF-8 %v, prefix of body %v", len(de.Response),
			utf8.ValidString(de.Response), strings.HasPrefix(long, de.Response))
	}
	fail.Store(false)
	if err := s.Deliver(context.Background(), testEvent); err != nil {
		t.Fatal(err)
	}
	if n := s.ConnectionsOpened(); n != 1 {
		t.Errorf("ConnectionsOpened = %d after an error and a success, want 1", n)
	}
}

func TestHangingReceiverTimesOutAsRetry(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait

	s := newSink(t, httpsink.Options{URL: srv.URL, Timeout: config.Duration(100 * time.Millisecond)})
	de := deliveryError(t, s.Deliver(context.Background(), testEvent), engine.Retry)
	if de.Status != 0 {
		t.Errorf("Status = %d, want 0", de.Status)
	}
	if !strings.Contains(de.Error(), "no response within 100ms") {
		t.Errorf("error %q does not say it timed out", de)
	}
}

func TestConnectionRefusedRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, httpsink.Options{URL: "http://" + addr + "/cb?token=QSECRET"})
	de := deliveryError(t, s.Deliver(context.Background(), testEvent), engine.Retry)
	if de.Status != 0 {
		t.Errorf("Status = %d, want 0", de.Status)
	}
	if strings.Contains(de.Error(), "QSECRET") {
		t.Errorf("error %q leaks the URL query", de)
	}
	if s.ConnectionsOpened() != 0 {
		t.Errorf("ConnectionsOpened = %d for a refused dial", s.ConnectionsOpened())
	}
}

// Receivers that accept the request and then drop the connection, before
// or during the response head.
func TestConnectionKilledMidResponseRetries(t *testing.T) {
	for name, partial := range map[string]string{
		"nothing written": "",
		"half a head":     "HTTP/1.1 200 OK\r\nContent-Len",
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				_, _ = buf.WriteString(partial)
				_ = buf.Flush()
				_ = conn.Close()
			}))
			defer srv.Close()
			s := newSink(t, httpsink.Options{URL: srv.URL})
			de := deliveryError(t, s.Deliver(context.Background(), testEvent), engine.Retry)
			if de.Status != 0 {
				t.Errorf("Status = %d, want 0", de.Status)
			}
		})
	}
}

func TestCancelledContextRetries(t *testing.T) {
	srv, _ := newReceiver(t, 200)
	s := newSink(t, httpsink.Options{URL: srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	deliveryError(t, s.Deliver(ctx, testEvent), engine.Retry)
}
