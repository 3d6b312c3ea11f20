package intercomsim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
)

// cursor is a decoded starting_after: the sort key of the last record
// served, the page it was on and the total count of the first page.
type cursor struct {
	key   sortKey
	page  int
	total int
}

type cursorJSON struct {
	Num   int64  `json:"n,omitempty"`
	Str   string `json:"s,omitempty"`
	IsStr bool   `json:"t,omitempty"`
	ID    string `json:"i"`
	Page  int    `json:"p"`
	Total int    `json:"c"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(cursorJSON{Num: c.key.num, Str: c.key.str, IsStr: c.key.isStr, ID: c.key.id, Page: c.page, Total: c.total})
	return base64.RawURLEncoding.EncodeToString(b)
}

//lint:ignore ST1005 this is Intercom's own message, verbatim
var errBadCursor = errors.New("Invalid starting_after param")

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor
	}
	var j cursorJSON
	if err := json.Unmarshal(b, &j); err != nil || j.ID == "" || j.Page < 1 {
		return cursor{}, errBadCursor
	}
	return cursor{key: sortKey{num: j.Num, str: j.Str, isStr: j.IsStr, id: j.ID}, page: j.Page, total: j.Total}, nil
}

// walk visits idx (sorted ascending) in the given direction, starting
// strictly after the cursor key when after is set, until fn returns false.
func walk(idx []*record, field string, desc bool, after *sortKey, fn func(*record) bool) {
	if !desc {
		i := 0
		if after != nil {
			i = sort.Search(len(idx), func(i int) bool { return compareKey(idx[i].sortKey(field), *after) > 0 })
		}
		for ; i < len(idx); i++ {
			if !fn(idx[i]) {
				return
			}
		}
		return
	}
	i := len(idx) - 1
	if after != nil {
		i = sort.Search(len(idx), func(i int) bool { return compareKey(idx[i].sortKey(field), *after) >= 0 }) - 1
	}
	for ; i >= 0; i-- {
		if !fn(idx[i]) {
			return
		}
	}
}

// page collects up to perPage records passing keep, in order, and says
// whether more follow.
func page(idx []*record, field string, desc bool, after *sortKey, perPage int, keep func(*record) bool) (out []*record, more bool) {
	walk(idx, field, desc, after, func(r *record) bool {
		if !keep(r) {
			return true
		}
		if len(out) == perPage {
			more = true
			return false
		}
		out = append(out, r)
		return true
	})
	return out, more
}
