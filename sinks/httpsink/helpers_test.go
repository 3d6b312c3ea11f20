package httpsink_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// request is what a receiver saw.
type request struct {
	method string
	url    string
	header http.Header
	body   []byte
	user   string
	pass   string
	proto  int
}

// newReceiver starts an httptest server on 127.0.0.1 answering status to
// every request and recording requests on the returned channel.
func newReceiver(t *testing.T, status int) (*httptest.Server, <-chan request) {
	t.Helper()
	got := make(chan request, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- readRequest(t, r)
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func readRequest(t *testing.T, r *http.Request) request {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("receiver: reading body: %v", err)
	}
	user, pass, _ := r.BasicAuth()
	return request{method: r.Method, url: r.URL.String(), header: r.Header.Clone(), body: body,
		user: user, pass: pass, proto: r.ProtoMajor}
}

func newSink(t testing.TB, o httpsink.Options, opts ...httpsink.Option) *httpsink.Sink {
	t.Helper()
	s, err := httpsink.New(o, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// deliveryError asserts err is a *engine.DeliveryError of class c.
func deliveryError(t *testing.T, err error, c engine.Class) *engine.DeliveryError {
	t.Helper()
	var de *engine.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *engine.DeliveryError", err, err)
	}
	if de.Class != c {
		t.Fatalf("class = %v, want %v (error: %v)", de.Class, c, err)
	}
	return de
}

func receive(t *testing.T, got <-chan request) request {
	t.Helper()
	select {
	case r := <-got:
		return r
	default:
		t.Fatal("receiver got no request")
		return request{}
	}
}
