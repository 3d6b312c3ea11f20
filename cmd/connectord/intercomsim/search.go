package intercomsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// searchBody is the POST /{kind}/search request.
type searchBody struct {
	Query      json.RawMessage `json:"query"`
	Pagination struct {
		PerPage       int    `json:"per_page"`
		StartingAfter string `json:"starting_after"`
	} `json:"pagination"`
	Sort *struct {
		Field string `json:"field"`
		Order string `json:"order"`
	} `json:"sort"`
}

// search serves POST /conversations/search and POST /contacts/search.
func (s *Server) search(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body searchBody
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "parameter_invalid", "body is not JSON: "+err.Error())
			return
		}
		if len(bytes.TrimSpace(body.Query)) == 0 {
			writeError(w, http.StatusBadRequest, "parameter_not_found", "query parameter is required")
			return
		}
		pred, err := s.parseQuery(k, body.Query, 0)
		if err != nil {
			writeError(w, http.StatusBadRequest, "query_invalid", err.Error())
			return
		}
		perPage := body.Pagination.PerPage
		if perPage == 0 {
			perPage = 20
			if k == Contacts {
				perPage = 50
			}
		}
		if perPage < 1 || perPage > maxPerPage {
			writeError(w, http.StatusBadRequest, "parameter_invalid", "per_page must be between 1 and 150")
			return
		}
		field, desc := "created_at", false
		if body.Sort != nil {
			field = body.Sort.Field
			switch body.Sort.Order {
			case "", "ascending":
			case "descending":
				desc = true
			default:
				writeError(w, http.StatusBadRequest, "parameter_invalid", "sort order must be ascending or descending")
				return
			}
		}
		var after *cursor
		if sa := body.Pagination.StartingAfter; sa != "" {
			c, err := decodeCursor(sa)
			if err != nil {
				writeError(w, http.StatusBadRequest, "parameter_invalid", err.Error())
				return
			}
			after = &c
		}

		s.mu.Lock()
		visibleFrom := s.opts.Clock.Now().Add(-s.opts.SearchDelay)
		keep := func(r *record) bool { return !r.changed.After(visibleFrom) && pred(r) }
		idx := s.cols[k].index(field)
		recs, more, pg := pageFrom(idx, field, desc, after, perPage, keep)
		total := 0
		if after != nil {
			total = after.total
		} else {
			for _, r := range idx {
				if keep(r) {
					total++
				}
			}
		}
		s.mu.Unlock()
		writePage(w, k, recs, more, pg, perPage, total, field)
	}
}

// predicate says whether a record matches a query.
type predicate func(*record) bool

// parseQuery compiles a query: {field, operator, value} or {operator:
// AND|OR, value: [queries]}, nested at most two levels as Intercom allows.
func (s *Server) parseQuery(k Kind, raw json.RawMessage, depth int) (predicate, error) {
	var q struct {
		Field    string          `json:"field"`
		Operator string          `json:"operator"`
		Value    json.RawMessage `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&q); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if q.Field == "" {
		if depth >= 2 {
			return nil, fmt.Errorf("query: more than 2 levels of nesting")
		}
		var subs []json.RawMessage
		if err := json.Unmarshal(q.Value, &subs); err != nil || len(subs) == 0 {
			return nil, fmt.Errorf("query: %s needs a list of filters in value", q.Operator)
		}
		if len(subs) > 15 {
			return nil, fmt.Errorf("query: more than 15 filters in one group")
		}
		preds := make([]predicate, len(subs))
		for i, sub := range subs {
			p, err := s.parseQuery(k, sub, depth+1)
			if err != nil {
				return nil, err
			}
			preds[i] = p
		}
		switch q.Operator {
		case "AND":
			return func(r *record) bool {
				for _, p := range preds {
					if !p(r) {
						return false
					}
				}
				return true
			}, nil
		case "OR":
			return func(r *record) bool {
				for _, p := range preds {
					if p(r) {
						return true
					}
				}
				return false
			}, nil
		}
		return nil, fmt.Errorf("query: operator %q must be AND or OR", q.Operator)
	}
	return s.filter(k, q.Field, q.Operator, q.Value)
}

// filter compiles one {field, operator, value}. Date fields (*_at) compare
// numerically, ">" and "<" inclusive (Intercom's quirk), or by calendar day
// for contacts when ContactSearchByDay is set.
func (s *Server) filter(k Kind, field, op string, raw json.RawMessage) (predicate, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("query: value of %s: %w", field, err)
	}
	if strings.HasSuffix(field, "_at") || field == "waiting_since" || field == "snoozed_until" {
		n, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("query: %s needs a Unix timestamp, got %s", field, raw)
		}
		if k == Contacts && s.opts.ContactSearchByDay {
			return s.dayFilter(field, op, int64(n))
		}
		return numFilter(field, op, n)
	}
	switch op {
	case "=", "!=":
		want := fmt.Sprint(v)
		return func(r *record) bool { return (fmt.Sprint(r.field(field)) == want) == (op == "=") }, nil
	case ">", "<":
		n, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("query: %s with %s needs a number", field, op)
		}
		return numFilter(field, op, n)
	case "~", "!~", "^", "$":
		want, _ := v.(string)
		return func(r *record) bool {
			got, _ := r.field(field).(string)
			switch op {
			case "~":
				return strings.Contains(got, want)
			case "!~":
				return !strings.Contains(got, want)
			case "^":
				return strings.HasPrefix(got, want)
			}
			return strings.HasSuffix(got, want)
		}, nil
	}
	return nil, fmt.Errorf("query: operator %q is not supported for %s", op, field)
}

func numFilter(field, op string, want float64) (predicate, error) {
	get := func(r *record) (float64, bool) { return number(r.field(field)) }
	switch op {
	case ">": // Intercom: "Greater (or equal) than"
		return func(r *record) bool { n, ok := get(r); return ok && n >= want }, nil
	case "<": // "Lower (or equal) than"
		return func(r *record) bool { n, ok := get(r); return ok && n <= want }, nil
	case "=":
		return func(r *record) bool { n, ok := get(r); return ok && n == want }, nil
	case "!=":
		return func(r *record) bool { n, ok := get(r); return !ok || n != want }, nil
	}
	return nil, fmt.Errorf("query: operator %q is not supported for %s", op, field)
}

// dayFilter compares by calendar day in the workspace timezone, as contact
// search does in API 2.11.
func (s *Server) dayFilter(field, op string, want int64) (predicate, error) {
	loc := s.opts.Location
	day := func(unix int64) time.Time {
		t := time.Unix(unix, 0).In(loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	}
	start := day(want)
	next := start.AddDate(0, 0, 1)
	get := func(r *record) (time.Time, bool) {
		n, ok := number(r.field(field))
		return time.Unix(int64(n), 0), ok
	}
	switch op {
	case ">": // from the start of the next day
		return func(r *record) bool { t, ok := get(r); return ok && !t.Before(next) }, nil
	case "<": // before the start of the day
		return func(r *record) bool { t, ok := get(r); return ok && t.Before(start) }, nil
	case "=":
		return func(r *record) bool { t, ok := get(r); return ok && !t.Before(start) && t.Before(next) }, nil
	}
	return nil, fmt.Errorf("query: operator %q is not supported on date field %s", op, field)
}

// number reads a JSON number, numeric string or Go integer.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// lookup reads a dotted path ("source.author.id") in a body.
func lookup(m map[string]any, path string) any {
	var cur any = m
	for part := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[part]
	}
	return cur
}
