package intercomsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Version is one state of a record: what a poller should report as a
// change.
type Version struct {
	Kind      Kind
	ID        string
	CreatedAt int64 // Unix seconds
	UpdatedAt int64 // Unix seconds
}

// record is one stored object. raw is its JSON, rebuilt on every change and
// never modified afterwards, so handlers may write it without the lock.
type record struct {
	id      string
	created int64
	updated int64
	changed time.Time // simulator time of the last change (search visibility)
	body    map[string]any
	raw     []byte
}

func (r *record) version(k Kind) Version {
	return Version{Kind: k, ID: r.id, CreatedAt: r.created, UpdatedAt: r.updated}
}

func (r *record) encode() {
	r.body["created_at"], r.body["updated_at"] = r.created, r.updated
	raw, err := json.Marshal(r.body)
	if err != nil {
		panic(fmt.Sprintf("intercomsim: record %s: %v", r.id, err)) // bodies are built here from JSON types
	}
	r.raw = raw
}

// field returns a record's value for a search or sort field.
func (r *record) field(name string) any {
	switch name {
	case "created_at":
		return r.created
	case "updated_at":
		return r.updated
	}
	return lookup(r.body, name)
}

// collection holds one resource. Sorted views are built on demand and
// dropped on every change.
type collection struct {
	kind   Kind
	byID   map[string]*record
	seq    int
	sorted map[string][]*record // by field then id, ascending
}

func newCollection(k Kind) *collection {
	return &collection{kind: k, byID: map[string]*record{}, sorted: map[string][]*record{}}
}

// index returns the records sorted ascending by (field, id).
func (c *collection) index(field string) []*record {
	if s, ok := c.sorted[field]; ok {
		return s
	}
	s := make([]*record, 0, len(c.byID))
	for _, r := range c.byID {
		s = append(s, r)
	}
	slices.SortFunc(s, func(a, b *record) int { return compareKey(a.sortKey(field), b.sortKey(field)) })
	c.sorted[field] = s
	return s
}

func (c *collection) dirty() { clear(c.sorted) }

// sortKey is a record's position in an index.
type sortKey struct {
	num   int64  // numeric field value (timestamps)
	str   string // string field value
	isStr bool
	id    string
}

func (r *record) sortKey(field string) sortKey {
	k := sortKey{id: r.id}
	switch v := r.field(field).(type) {
	case int64:
		k.num = v
	case int:
		k.num = int64(v)
	case float64:
		k.num = int64(v)
	case string:
		k.str, k.isStr = v, true
	}
	return k
}

func compareKey(a, b sortKey) int {
	switch {
	case a.isStr != b.isStr:
		if a.isStr {
			return 1
		}
		return -1
	case a.isStr && a.str != b.str:
		if a.str < b.str {
			return -1
		}
		return 1
	case a.num != b.num:
		if a.num < b.num {
			return -1
		}
		return 1
	}
	return compareIDs(a.id, b.id)
}

// compareIDs orders numeric ids numerically ("99" before "100") and other
// ids as strings.
func compareIDs(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
