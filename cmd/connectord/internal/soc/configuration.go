package soc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/connectord/connectord/engine/config"
)

// unsupportedKeys are Open Connectors configuration keys connectord knows
// and deliberately does not implement; each use is reported.
var unsupportedKeys = map[string]string{
	"oauth.user.refresher_time":           "Intercom tokens do not expire, so there is nothing to refresh",
	"oauth.user.refresher_token":          "Intercom tokens do not expire, so there is nothing to refresh",
	"oauth.user.refresh_token":            "Intercom tokens do not expire, so there is nothing to refresh",
	"oauth.user.token":                    "the token comes from providerData.code (or `connectord auth intercom`)",
	"event.notification.instance.finder":  "every instance gets its own pipelines; there is no instance lookup",
	"event.notification.subscription.id":  "connectord does not manage Intercom webhook subscriptions",
	"event.poller.urls":                   "the legacy pipe-delimited form; use event.poller.configuration",
	"event.helper.key":                    "not implemented",
	"filter.response.include.raw":         "raw is always included",
	"event.poller.configuration.override": "not implemented",
}

func (r *Request) configuration(m map[string]json.RawMessage) error {
	c := &r.Config
	c.FilterNulls = true
	var poller json.RawMessage
	var objects string
	for _, k := range sortedKeys(m) {
		v := m[k]
		key := "configuration." + k
		var err error
		switch k {
		case "oauth.api.key":
			err = str(v, key, &c.ClientID)
		case "oauth.api.secret":
			var s string
			err = str(v, key, &s)
			c.ClientSecret = config.Secret(s)
		case "oauth.callback.url":
			err = str(v, key, &c.RedirectURL)
		case "authentication.type":
			var s string
			if err = str(v, key, &s); err == nil && s != "" && s != "oauth2" {
				r.warn("%s %q is not supported: connectord authenticates to Intercom with OAuth 2 only", key, s)
			}
		case "event.notification.enabled":
			c.EventsEnabled, err = boolean(v, key, false)
		case "event.notification.type":
			var s string
			if err = str(v, key, &s); err == nil && s != "" && s != "webhook" {
				r.warn("%s %q is not supported: events are always POSTed to the callback URL (webhook)", key, s)
			}
		case "event.vendor.type":
			err = str(v, key, &c.VendorType)
		case "event.notification.callback.url":
			err = str(v, key, &c.CallbackURL)
		case "event.notification.signature.key":
			var s string
			err = str(v, key, &s)
			c.SignatureKey = config.Secret(s)
		case "event.poller.refresh_interval":
			c.RefreshInterval, err = scalar(v, key)
		case "filter.response.nulls":
			c.FilterNulls, err = boolean(v, key, true)
		case "event.objects":
			err = str(v, key, &objects)
		case "event.poller.configuration":
			poller = v
		default:
			if why, ok := unsupportedKeys[k]; ok {
				r.warn("%s is not supported and ignored: %s", key, why)
			} else {
				r.warn("unknown key %s ignored", key)
			}
		}
		if err != nil {
			return err
		}
	}
	for _, o := range strings.Split(objects, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Objects = append(c.Objects, o)
		}
	}
	switch c.VendorType {
	case "polling":
	case "webhook", "webhooks":
		c.VendorType = "webhooks"
	case "":
		if poller != nil && !isNull(poller) {
			c.VendorType = "polling"
		} else if c.EventsEnabled {
			return badf("configuration.event.vendor.type", "is required when events are enabled: polling or webhooks")
		}
	default:
		return badf("configuration.event.vendor.type", "%q is not supported: use polling or webhooks", c.VendorType)
	}
	if c.VendorType == "polling" {
		return r.pollerConfiguration(poller)
	}
	if poller != nil && !isNull(poller) {
		r.warn("configuration.event.poller.configuration ignored: event.vendor.type is %s", c.VendorType)
	}
	return nil
}

// boolean decodes true/false or the strings "true"/"false"; null is def.
func boolean(v json.RawMessage, key string, def bool) (bool, error) {
	if isNull(v) {
		return def, nil
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b, nil
		}
	}
	return false, badf(key, "expected true or false")
}

// scalar decodes a JSON string, number or boolean for a YAML scalar:
// numeric strings become numbers and "true"/"false" booleans, because the
// pipeline decoder is strict about types and Open Connectors writes most
// numbers as strings. null is nil.
func scalar(v json.RawMessage, key string) (any, error) {
	if isNull(v) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, badf(key, "malformed value")
	}
	switch t := x.(type) {
	case bool:
		return t, nil
	case json.Number:
		return number(string(t)), nil
	case string:
		s := strings.TrimSpace(t)
		if n := number(s); n != nil {
			return n, nil
		}
		if s == "true" || s == "false" {
			return s == "true", nil
		}
		return t, nil
	}
	return nil, badf(key, "expected a string, number or boolean")
}

// number parses an integer or a float, or returns nil.
func number(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && s != "" && !strings.ContainsAny(s, "xXnN") {
		return f
	}
	return nil
}
