package httpsink_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connectord/connectord/engine"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

// countingServer is a 2xx receiver that also counts, on its side, the
// connections it accepted.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var accepted atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &accepted
}

func deliverAll(t *testing.T, s *httpsink.Sink, n, workers int) {
	t.Helper()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				d := engine.Delivery{ID: fmt.Sprint("evt-", i), Body: []byte(`{"n":1}`)}
				if err := s.Deliver(context.Background(), d); err != nil {
					t.Errorf("delivery %d: %v", i, err)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// reuseSlack allows for net/http handing a finished connection back to its
// idle pool from the connection's own read loop, asynchronously: on a loaded
// machine the next request can now and then start before it is back and
// dial. What these tests catch is a connection per delivery (200 here).
const reuseSlack = 2

func TestSequentialDeliveriesReuseOneConnection(t *testing.T) {
	srv, accepted := countingServer(t)
	s := newSink(t, httpsink.Options{URL: srv.URL})
	deliverAll(t, s, 200, 1)
	if n := s.ConnectionsOpened(); n < 1 || n > 1+reuseSlack {
		t.Errorf("ConnectionsOpened = %d for 200 sequential deliveries, want 1 (at most %d)", n, 1+reuseSlack)
	}
	if n := accepted.Load(); n > 1+reuseSlack {
		t.Errorf("server accepted %d connections, want 1 (at most %d)", n, 1+reuseSlack)
	}
}

func TestConcurrentDeliveriesStayWithinMaxInFlight(t *testing.T) {
	srv, accepted := countingServer(t)
	s := newSink(t, httpsink.Options{URL: srv.URL, MaxInFlight: 16})
	deliverAll(t, s, 200, 16)
	if n := s.ConnectionsOpened(); n < 1 || n > 16+reuseSlack {
		t.Errorf("ConnectionsOpened = %d, want 1..16 (at most %d)", n, 16+reuseSlack)
	}
	if n := accepted.Load(); n > 16+reuseSlack {
		t.Errorf("server accepted %d connections, want ≤ 16 (at most %d)", n, 16+reuseSlack)
	}
}

// https receivers get HTTP/2 when they offer it.
func TestHTTPSUsesHTTP2(t *testing.T) {
	got := make(chan int, 100)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.ProtoMajor
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	s := newSink(t, httpsink.Options{URL: srv.URL}, httpsink.WithTLSConfig(&tls.Config{RootCAs: roots}))
	deliverAll(t, s, 20, 1)
	for range 20 {
		if proto := <-got; proto != 2 {
			t.Fatalf("request over HTTP/%d, want 2", proto)
		}
	}
	if n := s.ConnectionsOpened(); n != 1 {
		t.Errorf("ConnectionsOpened = %d, want 1", n)
	}
}
