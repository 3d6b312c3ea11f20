package intercomsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// maxPerPage is Intercom's largest page.
const maxPerPage = 150

// listShape is how a kind's list responses look: conversations come as
// {"type":"conversation.list","conversations":[...]}, tickets as
// {"type":"ticket.list","tickets":[...]}, others as
// {"type":"list","data":[...]}.
func listShape(k Kind) (typ, key string) {
	switch k {
	case Conversations:
		return "conversation.list", "conversations"
	case Tickets:
		return "ticket.list", "tickets"
	}
	return "list", "data"
}

// list serves GET /conversations, GET /contacts and GET /articles.
func (s *Server) list(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		perPage, ok := perPageParam(q.Get("per_page"), 20)
		if !ok {
			writeError(w, http.StatusBadRequest, "parameter_invalid", "per_page must be between 1 and 150")
			return
		}
		field := "updated_at"
		if q.Get("sort") == "created_at" {
			field = "created_at"
		}
		desc := q.Get("order") != "asc"
		var after *cursor
		if sa := q.Get("starting_after"); sa != "" {
			c, err := decodeCursor(sa)
			if err != nil {
				writeError(w, http.StatusBadRequest, "parameter_invalid", err.Error())
				return
			}
			after = &c
		}
		s.mu.Lock()
		idx := s.cols[k].index(field)
		recs, more, pg := pageFrom(idx, field, desc, after, perPage, func(*record) bool { return true })
		total := len(idx)
		s.mu.Unlock()
		writePage(w, k, recs, more, pg, perPage, total, field)
	}
}

// pageFrom serves the page after cursor c (nil: the first page).
func pageFrom(idx []*record, field string, desc bool, c *cursor, perPage int, keep func(*record) bool) ([]*record, bool, int) {
	if c == nil {
		recs, more := page(idx, field, desc, nil, perPage, keep)
		return recs, more, 1
	}
	recs, more := page(idx, field, desc, &c.key, perPage, keep)
	return recs, more, c.page + 1
}

func perPageParam(s string, def int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPerPage {
		return 0, false
	}
	return n, true
}

// writePage writes a list or search response. The records' JSON is written
// as stored.
func writePage(w http.ResponseWriter, k Kind, recs []*record, more bool, pg, perPage, total int, field string) {
	typ, key := listShape(k)
	items := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		items[i] = r.raw
	}
	pages := map[string]any{"type": "pages", "page": pg, "per_page": perPage, "total_pages": (total + perPage - 1) / perPage}
	if more && len(recs) > 0 {
		last := recs[len(recs)-1]
		after := encodeCursor(cursor{key: last.sortKey(field), page: pg, total: total})
		pages["next"] = map[string]any{"per_page": perPage, "starting_after": after}
		if k == Articles {
			// Articles' pages.next is the next page's URL.
			pages["next"] = "/articles?" + url.Values{"per_page": {strconv.Itoa(perPage)}, "starting_after": {after}}.Encode()
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": typ, "pages": pages, "total_count": total, key: items})
}
