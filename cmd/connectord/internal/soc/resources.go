package soc

import (
	"encoding/json"
	"slices"
)

// dateKeys are datesConfiguration's keys, in the order written.
var dateKeys = []string{
	"updatedDateField", "updatedDateFormat", "updatedDateTimezone",
	"createdDateField", "createdDateFormat", "createdDateTimezone",
}

// extraKeys are the optional per-resource poller keys passed on as they
// are; aliases maps Open Connectors' other spellings onto them.
var (
	extraKeys = []string{"pageSize", "pollDelay", "filterByUpdatedDate", "filterByCurrentDate", "createdCheckTolerance"}
	aliases   = map[string]string{"filterByUpdateDate": "filterByUpdatedDate"}
)

// pollerConfiguration decodes event.poller.configuration: an object keyed
// by resource, or the same object as a JSON string.
func (r *Request) pollerConfiguration(v json.RawMessage) error {
	const key = "configuration.event.poller.configuration"
	if v == nil || isNull(v) {
		return badf(key, "is required when event.vendor.type is polling")
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		v = json.RawMessage(s)
	}
	m, err := object(v, key)
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return badf(key, "names no resource to poll")
	}
	for _, name := range sortedKeys(m) {
		res, err := r.resource(key+"."+name, name, m[name])
		if err != nil {
			return err
		}
		r.Config.Resources = append(r.Config.Resources, res)
	}
	return nil
}

func (r *Request) resource(key, name string, v json.RawMessage) (Resource, error) {
	res := Resource{Name: name}
	if Slug(name) != name {
		return res, badf(key, "resource name %q must be lower case letters, digits and dashes", name)
	}
	m, err := object(v, key)
	if err != nil {
		return res, err
	}
	extras := map[string]any{}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "url":
			err = str(v, key+".url", &res.URL)
		case "idField":
			err = str(v, key+".idField", &res.IDField)
		case "datesConfiguration":
			res.Dates, err = r.dates(key+".datesConfiguration", v)
		default:
			canon := k
			if a, ok := aliases[k]; ok {
				canon = a
			}
			if !slices.Contains(extraKeys, canon) {
				r.warn("unknown key %s.%s ignored", key, k)
				continue
			}
			if extras[canon], err = scalar(v, key+"."+k); err == nil && extras[canon] == nil {
				delete(extras, canon)
			}
		}
		if err != nil {
			return res, err
		}
	}
	if res.URL == "" {
		return res, badf(key+".url", "is required")
	}
	for _, k := range extraKeys {
		if x, ok := extras[k]; ok {
			res.Extras = append(res.Extras, keyValue{k, x})
		}
	}
	return res, nil
}

func (r *Request) dates(key string, v json.RawMessage) ([]keyValue, error) {
	if isNull(v) {
		return nil, nil
	}
	m, err := object(v, key)
	if err != nil {
		return nil, err
	}
	var out []keyValue
	for _, k := range dateKeys {
		var s string
		if raw, ok := m[k]; ok {
			if err := str(raw, key+"."+k, &s); err != nil {
				return nil, err
			}
		}
		if s != "" {
			out = append(out, keyValue{k, s})
		}
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(dateKeys, k) {
			r.warn("unknown key %s.%s ignored", key, k)
		}
	}
	return out, nil
}
