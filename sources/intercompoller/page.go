package intercompoller

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// page is one decoded list or search response.
type page struct {
	records []json.RawMessage
	after   string // pages.next.starting_after; "" on the last page
	nextURL string // pages.next as a URL (older API versions, articles)
	scroll  string // scroll_param (companies/scroll)
}

// decodePage reads the records, from the member named like the resource
// ({"conversations": [...]}) or "data", and the next-page cursor.
func decodePage(body []byte, resource string) (page, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return page{}, fmt.Errorf("response is not a JSON object: %w", err)
	}
	var p page
	list, ok := top[resource]
	if !ok {
		list, ok = top["data"]
	}
	if !ok {
		return page{}, fmt.Errorf("response has neither %q nor \"data\"", resource)
	}
	if err := json.Unmarshal(list, &p.records); err != nil {
		return page{}, fmt.Errorf("records are not a list: %w", err)
	}
	if raw := top["scroll_param"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.scroll); err != nil {
			return page{}, fmt.Errorf("scroll_param: %w", err)
		}
	}
	var pages struct {
		Next json.RawMessage `json:"next"`
	}
	if raw := top["pages"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &pages); err != nil {
			return page{}, fmt.Errorf("pages: %w", err)
		}
	}
	switch {
	case len(pages.Next) == 0 || string(pages.Next) == "null":
	case pages.Next[0] == '"':
		_ = json.Unmarshal(pages.Next, &p.nextURL)
	default:
		var next struct {
			StartingAfter string `json:"starting_after"`
		}
		if err := json.Unmarshal(pages.Next, &next); err != nil {
			return page{}, fmt.Errorf("pages.next: %w", err)
		}
		p.after = next.StartingAfter
	}
	return p, nil
}

// listPageURL adds per_page (unless the url sets it) and starting_after to
// a list url.
func listPageURL(base string, pageSize int, after string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bad url %q: %w", base, err)
	}
	q := u.Query()
	if q.Get("per_page") == "" {
		q.Set("per_page", strconv.Itoa(pageSize))
	}
	if after != "" {
		q.Set("starting_after", after)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
