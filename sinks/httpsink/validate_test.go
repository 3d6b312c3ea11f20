package httpsink_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	httpsink "github.com/connectord/connectord/sinks/httpsink"
)

// fieldErrors flattens a joined error into its FieldErrors' paths.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *config.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("error %v (%T) is not a *config.FieldError", err, err)
			return
		}
		out = append(out, fe.Field)
	}
	walk(err)
	return out
}

func TestOptionsValidation(t *testing.T) {
	ok := "https://example.com/cb"
	tests := []struct {
		name   string
		opts   httpsink.Options
		fields []string
	}{
		{"missing url", httpsink.Options{}, []string{"url"}},
		{"ftp url", httpsink.Options{URL: "ftp://example.com/x"}, []string{"url"}},
		{"relative url", httpsink.Options{URL: "/callback"}, []string{"url"}},
		{"no host", httpsink.Options{URL: "http://"}, []string{"url"}},
		{"unparsable url with secrets", httpsink.Options{URL: "http://u:SECRET@h/%zz?token=SECRET"}, []string{"url"}},
		{"unparsable host with secrets", httpsink.Options{URL: "http://u:SECRET@[::1"}, []string{"url"}},
		{"standard without key", httpsink.Options{URL: ok,
			Signature: httpsink.SignatureOptions{Scheme: "standard"}}, []string{"signature.key"}},
		{"bad whsec key", httpsink.Options{URL: ok,
			Signature: httpsink.SignatureOptions{Scheme: "standard", Key: "whsec_!!SECRET!!"}}, []string{"signature.key"}},
		{"bad previous key", httpsink.Options{URL: ok, Signature: httpsink.SignatureOptions{Scheme: "standard",
			Key: "good", PreviousKeys: []config.Secret{"fine", "whsec_%%SECRET"}}}, []string{"signature.previous_keys.1"}},
		{"unknown scheme", httpsink.Options{URL: ok,
			Signature: httpsink.SignatureOptions{Scheme: "hmac", Key: "SECRET"}}, []string{"signature.scheme"}},
		{"previous keys with elements", httpsink.Options{URL: ok,
			Signature: httpsink.SignatureOptions{Key: "SECRET", PreviousKeys: []config.Secret{"SECRET2"}}},
			[]string{"signature.previous_keys"}},
		{"reserved headers", httpsink.Options{URL: ok, Headers: map[string]string{
			"content-type": "text/plain", "Webhook-Signature": "v1,x", "Elements-Webhook-Signature": "x"}},
			[]string{"headers.Elements-Webhook-Signature", "headers.Webhook-Signature", "headers.content-type"}},
		{"bad header name", httpsink.Options{URL: ok, Headers: map[string]string{"Bad Name": "v"}},
			[]string{"headers.Bad Name"}},
		{"header value with newline", httpsink.Options{URL: ok, Headers: map[string]string{"X-Token": "SECRET\r\nEvil: 1"}},
			[]string{"headers.X-Token"}},
		{"max_in_flight too big", httpsink.Options{URL: ok, MaxInFlight: 1025}, []string{"max_in_flight"}},
		{"max_in_flight negative", httpsink.Options{URL: ok, MaxInFlight: -1}, []string{"max_in_flight"}},
		{"negative timeout", httpsink.Options{URL: ok, Timeout: config.Duration(-time.Second)}, []string{"timeout"}},
		{"bad retry", httpsink.Options{URL: ok, Retry: httpsink.RetryOptions{MaxAttempts: -1, Multiplier: 0.5,
			InitialInterval: config.Duration(time.Minute), MaxInterval: config.Duration(time.Second)}},
			[]string{"retry.max_attempts", "retry.max_interval", "retry.multiplier"}},
		{"every error at once", httpsink.Options{URL: "gopher://x", MaxInFlight: 5000,
			Signature: httpsink.SignatureOptions{Scheme: "standard"}},
			[]string{"max_in_flight", "signature.key", "url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := httpsink.New(tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("New accepted invalid options")
			}
			got := fieldErrors(t, err)
			slices.Sort(got)
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %q, want %q (error: %v)", got, tc.fields, err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q leaks a secret", err)
			}
			// Through the registry's entry point as well.
			if sink, err := tc.opts.NewSink(engine.BuildContext{}); err == nil || sink != nil {
				t.Errorf("NewSink = %v, %v; want nil sink and an error", sink, err)
			}
		})
	}
}

func TestValidOptions(t *testing.T) {
	for _, o := range []httpsink.Options{
		{URL: "http://127.0.0.1:8080/cb"},
		{URL: "https://user:pw@example.com/cb?token=x", Headers: map[string]string{"X-Env": "prod"}},
		{URL: "https://example.com", MaxInFlight: 1024, Signature: httpsink.SignatureOptions{
			Scheme: "standard", Key: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", PreviousKeys: []config.Secret{"raw"}}},
	} {
		s, err := httpsink.New(o)
		if err != nil {
			t.Errorf("New(%s): %v", o.URL, err)
			continue
		}
		_ = s.Close()
	}
}

func TestPolicy(t *testing.T) {
	s := newSink(t, httpsink.Options{URL: "http://127.0.0.1:1/"})
	want := engine.DefaultPolicy
	if got := s.Policy(); got != want {
		t.Errorf("default Policy = %+v, want engine.DefaultPolicy %+v", got, want)
	}

	jitter := false
	s = newSink(t, httpsink.Options{URL: "http://127.0.0.1:1/", MaxInFlight: 3, Retry: httpsink.RetryOptions{
		MaxAttempts: 5, InitialInterval: config.Duration(time.Second), Multiplier: 2,
		MaxInterval: config.Duration(time.Minute), Jitter: &jitter}})
	want = engine.Policy{MaxInFlight: 3, Retry: engine.RetryPolicy{
		MaxAttempts: 5, Initial: time.Second, Multiplier: 2, Max: time.Minute, NoJitter: true}}
	if got := s.Policy(); got != want {
		t.Errorf("Policy = %+v, want %+v", got, want)
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(engine.Kinds[engine.SinkConfig](), "http") {
		t.Errorf("SinkKinds() = %q, want http registered", engine.Kinds[engine.SinkConfig]())
	}
}
