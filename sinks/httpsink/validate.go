package httpsink

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/connectord/connectord/engine/config"
)

// settings are validated options in the form Deliver uses.
type settings struct {
	url     string   // as configured, sent as is
	target  *url.URL // url parsed, shared by every request (read only)
	safeURL string   // without userinfo, query and fragment: for errors and logs
	headers http.Header
	scheme  string
	keys    [][]byte // signing keys, current first; empty: unsigned
	hold    string   // why delivery is held (no url); "" delivers
}

// reservedHeaders are set by the sink; extra headers may not replace them.
var reservedHeaders = []string{
	"Content-Type", "Content-Length", "Transfer-Encoding", "Host", "Connection", "User-Agent",
	HeaderElementsID, HeaderElementsSignature,
	HeaderStandardID, HeaderStandardTimestamp, HeaderStandardSignature,
}

// validate checks o and returns every problem as a *config.FieldError,
// joined. No message contains a key, a header value, or the URL's userinfo
// or query.
func validate(o Options) (settings, error) {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, config.FieldErrorf(field, format, args...))
	}
	var s settings

	switch {
	case o.Hold != "" && o.URL != "":
		add("hold", "is for a sink without url: remove hold to deliver to the url")
	case o.Hold != "":
		s.hold = HoldPrefix + ": " + o.Hold
	default:
		u, err := parseCallbackURL(o.URL)
		if err != nil {
			add("url", "%v (or hold: <why>, to keep the events queued until there is one)", err)
		} else {
			s.url, s.target = o.URL, u
			// As http.NewRequest has it: "host:" is sent as "host".
			u.Host = strings.TrimSuffix(u.Host, ":")
			s.safeURL = redactURL(u)
		}
	}

	s.headers = make(http.Header, len(o.Headers))
	for _, name := range slices.Sorted(maps.Keys(o.Headers)) {
		value := o.Headers[name]
		field := "headers." + name
		switch {
		case !validHeaderName(name):
			add(field, "is not a valid header name")
		case isReserved(name):
			add(field, "is set by the sink and cannot be replaced")
		case strings.ContainsAny(value, "\r\n\x00"):
			add(field, "value must not contain line breaks or NUL")
		default:
			s.headers.Set(name, value)
		}
	}

	if o.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	if o.MaxInFlight < 0 || o.MaxInFlight > MaxInFlightMax {
		add("max_in_flight", "must be between 1 and %d, got %d", MaxInFlightMax, o.MaxInFlight)
	}
	errs = append(errs, validateRetry(o.Retry)...)

	keys, kerrs := signingKeys(o.Signature)
	s.keys = keys
	errs = append(errs, kerrs...)
	s.scheme = o.Signature.Scheme
	if s.scheme == "" {
		s.scheme = SchemeElements
	}
	return s, errors.Join(errs...)
}

func validateRetry(r RetryOptions) []error {
	var errs []error
	if r.MaxAttempts < 0 {
		errs = append(errs, config.FieldErrorf("retry.max_attempts", "must be at least 1"))
	}
	if r.InitialInterval < 0 {
		errs = append(errs, config.FieldErrorf("retry.initial_interval", "must not be negative"))
	}
	if r.MaxInterval < 0 {
		errs = append(errs, config.FieldErrorf("retry.max_interval", "must not be negative"))
	}
	if r.Multiplier != 0 && r.Multiplier < 1 {
		errs = append(errs, config.FieldErrorf("retry.multiplier", "must be at least 1, got %g", r.Multiplier))
	}
	if r.InitialInterval > 0 && r.MaxInterval > 0 && r.MaxInterval < r.InitialInterval {
		errs = append(errs, config.FieldErrorf("retry.max_interval", "must not be less than retry.initial_interval"))
	}
	return errs
}

// signingKeys decodes the keys for the scheme, current key first.
func signingKeys(sig SignatureOptions) ([][]byte, []error) {
	var errs []error
	switch sig.Scheme {
	case "", SchemeElements:
		if len(sig.PreviousKeys) > 0 {
			errs = append(errs, config.FieldErrorf("signature.previous_keys",
				"need scheme standard: the elements scheme sends one signature"))
		}
		if sig.Key == "" {
			return nil, errs
		}
		return [][]byte{[]byte(sig.Key.Reveal())}, errs
	case SchemeStandard:
	default:
		return nil, []error{config.FieldErrorf("signature.scheme",
			"must be %s or %s", SchemeElements, SchemeStandard)}
	}
	if sig.Key == "" {
		errs = append(errs, config.FieldErrorf("signature.key", "is required with scheme standard"))
	}
	all := append([]config.Secret{sig.Key}, sig.PreviousKeys...)
	keys := make([][]byte, 0, len(all))
	for i, secret := range all {
		if secret == "" {
			continue // reported above for the key; skipped for previous keys
		}
		k, err := DecodeStandardSecret(secret.Reveal())
		if err != nil {
			field := "signature.key"
			if i > 0 {
				field = fmt.Sprintf("signature.previous_keys.%d", i-1)
			}
			errs = append(errs, config.FieldErrorf(field, "%v", err))
			continue
		}
		keys = append(keys, k)
	}
	return keys, errs
}

// parseCallbackURL checks raw is an absolute http(s) URL. Its errors do not
// repeat raw, which may hold credentials.
func parseCallbackURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must be an http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	return u, nil
}

// redactURL is u without userinfo, query and fragment.
func redactURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}

func isReserved(name string) bool {
	for _, r := range reservedHeaders {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
