package intercomsim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// scrollPage is the number of companies per scroll response.
const scrollPage = 50

// scroll serves GET /companies/scroll: the first call (no scroll_param)
// starts a scroll, each call with the returned scroll_param gets the next
// page, and an empty data array ends it. Companies come in id order.
func (s *Server) scroll(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.scrollPage(k, w, r) }
}

func (s *Server) scrollPage(k Kind, w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	param := r.URL.Query().Get("scroll_param")
	pos := 0
	if param != "" {
		p, ok := s.scrolls[param]
		if !ok {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, "scroll_param_not_found", "scroll parameter not found")
			return
		}
		pos = p
		delete(s.scrolls, param)
	}
	idx := s.cols[k].index("id")
	end := min(pos+scrollPage, len(idx))
	items := make([]json.RawMessage, 0, end-pos)
	for _, rec := range idx[pos:end] {
		items = append(items, rec.raw)
	}
	next := fmt.Sprintf("%08x-%04x", s.rng.Uint32(), s.rng.Uint32()&0xffff)
	s.scrolls[next] = end
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "list", "data": items, "pages": nil, "total_count": nil, "scroll_param": next,
	})
}
