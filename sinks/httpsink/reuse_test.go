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

func TestSequentialDeliveriesReuseOneConnection(t *testing.T) {
	srv, accepted := countingServer(t)
	s := newSink(t, httpsink.Options{URL: srv.URL})
	deliverAll(t, s, 200, 1)
	if n := s.ConnectionsOpened(); n != 1 {
		t.Errorf("ConnectionsOpened = %d, want 1", n)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestConcurrentDeliveriesStayWithinMaxInFlight(t *testing.T) {
	srv, accepted := countingServer(t)
	s := newSink(t, httpsink.Options{URL: srv.URL, MaxInFlight: 16})
	deliverAll(t, s, 200, 16)
	if n := s.ConnectionsOpened(); n < 1 || n > 16 {
		t.Errorf("ConnectionsOpened = %d, want 1..16", n)
	}
	if n := accepted.Load(); n > 16 {
		t.Errorf("server accepted %d connections, want ≤ 16", n)
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
