package httpsink_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/version"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

func TestDeliverSendsExactBodyAndHeaders(t *testing.T) {
	srv, got := newReceiver(t, 202)
	// Unicode, odd spacing, escapes and a trailing newline: nothing may
	// re-encode it.
	body := []byte("{ \"msg\" :  \"héllo wörld 🎉\\u00e9\",\n\t\"n\": [1,  2.50] }\n")
	s := newSink(t, httpsink.Options{
		URL:       srv.URL + "/hooks/in",
		Headers:   map[string]string{"X-Env": "prod", "authorization": "Bearer t0k"},
		Signature: httpsink.SignatureOptions{Key: "k"},
	})
	if err := s.Deliver(context.Background(), engine.Delivery{ID: "id-1", Key: "obj", Body: body, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	r := receive(t, got)
	if r.method != "POST" || r.url != "/hooks/in" {
		t.Errorf("request %s %s, want POST /hooks/in", r.method, r.url)
	}
	if !bytes.Equal(r.body, body) {
		t.Errorf("body\n got %q\nwant %q", r.body, body)
	}
	want := map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    version.UserAgent(),
		"X-Env":         "prod",
		"Authorization": "Bearer t0k",
	}
	for name, v := range want {
		if r.header.Get(name) != v {
			t.Errorf("%s = %q, want %q", name, r.header.Get(name), v)
		}
	}
	if !verifyElements("k", body, r.header.Get("Elements-Webhook-Signature")) {
		t.Error("signature is not over the exact bytes sent")
	}
	if n := len(r.header.Values("Content-Type")); n != 1 {
		t.Errorf("%d Content-Type headers", n)
	}
}

// Credentials in the URL reach the receiver but never an error message.
func TestURLCredentialsSentButNotLeaked(t *testing.T) {
	srv, got := newReceiver(t, 503)
	u := strings.Replace(srv.URL, "http://", "http://alice:PASSWORD-SECRET@", 1) + "/cb?token=QUERY-SECRET"
	s := newSink(t, httpsink.Options{URL: u})
	err := s.Deliver(context.Background(), engine.Delivery{ID: "x", Body: []byte(`{}`)})
	deliveryError(t, err, engine.Retry)
	r := receive(t, got)
	if r.user != "alice" || r.pass != "PASSWORD-SECRET" {
		t.Errorf("basic auth %q:%q, want the URL's userinfo", r.user, r.pass)
	}
	if r.url != "/cb?token=QUERY-SECRET" {
		t.Errorf("request URI %q, want the query kept", r.url)
	}
	for _, secret := range []string{"PASSWORD-SECRET", "QUERY-SECRET"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %s", err, secret)
		}
	}
	if !strings.Contains(err.Error(), "/cb") {
		t.Errorf("error %q does not name the callback path", err)
	}
}
