package intercompoller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// change is what the poller knows about one record before emitting it.
type change struct {
	id         string
	at         time.Time // the tracked date: updated, or created with filterByUpdatedDate false
	updated    time.Time
	created    time.Time
	hasCreated bool
	raw        json.RawMessage
}

// decodeRecord reads a record's JSON with numbers kept exact.
func decodeRecord(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("record is null")
	}
	return m, nil
}

// inspect extracts a record's id and dates.
func (s *settings) inspect(raw json.RawMessage) (change, error) {
	rec, err := decodeRecord(raw)
	if err != nil {
		return change{}, fmt.Errorf("record is not a JSON object: %w", err)
	}
	return s.inspectValue(rec, raw)
}

func (s *settings) inspectValue(rec map[string]any, raw json.RawMessage) (change, error) {
	c := change{raw: raw}
	id, ok := idString(at(rec, s.idPath))
	if !ok {
		return c, fmt.Errorf("record has no id at %q", joinPath(s.idPath))
	}
	c.id = id
	if v := at(rec, s.created.path); s.created.path != nil && v != nil {
		t, err := s.created.format.parse(v)
		if err != nil {
			return c, fmt.Errorf("record %s: %s: %w", id, s.created.name, err)
		}
		c.created, c.hasCreated = t, true
	}
	v := at(rec, s.updated.path)
	switch {
	case v != nil:
		t, err := s.updated.format.parse(v)
		if err != nil {
			return c, fmt.Errorf("record %s: %s: %w", id, s.updated.name, err)
		}
		c.updated = t
	case c.hasCreated:
		c.updated = c.created // never updated
	default:
		return c, fmt.Errorf("record %s has no %s", id, s.updated.name)
	}
	c.at = c.updated
	if !s.byUpdated {
		if !c.hasCreated {
			return c, fmt.Errorf("record %s has no %s", id, s.created.name)
		}
		c.at = c.created
	}
	return c, nil
}

// at reads a dotted path.
func at(m map[string]any, path []string) any {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[p]
	}
	return cur
}

func joinPath(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += "."
		}
		out += s
	}
	return out
}

// idString renders an id (string or number) as a string.
func idString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// dropNulls removes null members from objects, recursively, as SAP Open
// Connectors' filter.response.nulls does. Array elements stay in place.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}
