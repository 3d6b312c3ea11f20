package soc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/connectord/connectord/engine/config"
)

// ElementKey is the only connector this package imports.
const ElementKey = "intercom"

// BadRequestError is a body that cannot be imported; Key names the
// offending key ("configuration.event.vendor.type").
type BadRequestError struct {
	Key string
	Msg string
}

func (e *BadRequestError) Error() string { return e.Key + ": " + e.Msg }

func badf(key, format string, args ...any) error {
	return &BadRequestError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Request is an Open Connectors `POST /instances` body, decoded.
type Request struct {
	ElementKey string
	Code       string // providerData.code
	Name       string
	Tags       []string
	Config     Configuration
	// Raw is the configuration object as received, for the redacted copy.
	Raw map[string]json.RawMessage
	// Warnings lists every key that was not understood and is ignored.
	Warnings []string
}

// Configuration holds the instance configuration keys connectord uses.
type Configuration struct {
	ClientID        string        // oauth.api.key
	ClientSecret    config.Secret // oauth.api.secret
	RedirectURL     string        // oauth.callback.url
	EventsEnabled   bool          // event.notification.enabled (default false)
	VendorType      string        // event.vendor.type: "polling" or "webhooks"
	CallbackURL     string        // event.notification.callback.url
	SignatureKey    config.Secret // event.notification.signature.key
	RefreshInterval any           // event.poller.refresh_interval (int or string)
	FilterNulls     bool          // filter.response.nulls (default true)
	Objects         []string      // event.objects
	Resources       []Resource    // event.poller.configuration, by name
}

// Resource is one entry of event.poller.configuration.
type Resource struct {
	Name    string
	URL     string
	IDField string
	Dates   []keyValue // datesConfiguration, in dateKeys order
	Extras  []keyValue // pageSize, pollDelay, … in extraKeys order
}

type keyValue struct {
	Key   string
	Value any // string, bool, int64, float64
}

// ParseRequest decodes body. Errors are *BadRequestError; keys that are
// ignored are listed in Request.Warnings.
func ParseRequest(body []byte) (*Request, error) {
	top, err := object(body, "body")
	if err != nil {
		return nil, err
	}
	r := &Request{}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "element":
			err = r.element(v)
		case "providerData":
			err = r.providerData(v)
		case "name":
			err = str(v, "name", &r.Name)
		case "tags":
			if !isNull(v) && json.Unmarshal(v, &r.Tags) != nil {
				err = badf("tags", "expected a list of strings")
			}
		case "configuration":
			r.Raw, err = object(v, "configuration")
			if err == nil {
				err = r.configuration(r.Raw)
			}
		default:
			r.warn("unknown top-level key %q ignored", k)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case r.ElementKey == "":
		return nil, badf("element.key", "is required (intercom)")
	case r.ElementKey != ElementKey:
		return nil, badf("element.key", "%q is not supported: connectord imports %q instances only", r.ElementKey, ElementKey)
	case strings.TrimSpace(r.Name) == "":
		return nil, badf("name", "is required")
	case Slug(r.Name) == "":
		return nil, badf("name", "%q has no letters or digits to name a pipeline with", r.Name)
	}
	return r, nil
}

func (r *Request) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

func (r *Request) element(v json.RawMessage) error {
	m, err := object(v, "element")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if k != "key" {
			r.warn("element.%s ignored", k)
			continue
		}
		if err := str(m[k], "element.key", &r.ElementKey); err != nil {
			return err
		}
	}
	return nil
}

func (r *Request) providerData(v json.RawMessage) error {
	m, err := object(v, "providerData")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if k != "code" {
			r.warn("providerData.%s is not supported and ignored", k)
			continue
		}
		if err := str(m[k], "providerData.code", &r.Code); err != nil {
			return err
		}
	}
	return nil
}

// object decodes a JSON object, keeping its values raw.
func object(v json.RawMessage, key string) (map[string]json.RawMessage, error) {
	if !json.Valid(v) {
		var x any
		err := json.Unmarshal(v, &x)
		return nil, badf(key, "malformed JSON: %v", err)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return nil, badf(key, "expected a JSON object")
	}
	return m, nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// str decodes a string (null leaves dst empty).
func str(v json.RawMessage, key string, dst *string) error {
	if isNull(v) {
		return nil
	}
	if json.Unmarshal(v, dst) != nil {
		return badf(key, "expected a string")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
