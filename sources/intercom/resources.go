package intercom

import "sort"

// Resource is what connectord knows of one Intercom object type: how to
// poll it exactly, and which webhook topics carry its changes.
type Resource struct {
	// Name is the plural object name, as SAP Open Connectors writes it in
	// event.objects and as the poller's `resource`.
	Name string
	// Mode is how the poller reads it: "list" (GET, newest updated first),
	// "search" (POST …/search on updated_at) or "scroll" (GET …/scroll, a
	// walk over every record in no date order).
	Mode string
	// Path is the Intercom request for Mode, query included.
	Path string
	// Granularity is how finely the API compares dates in search:
	// "second", or "day" where API 2.11 compares calendar days.
	Granularity string
	// Topics are the webhook topic prefixes whose notifications are
	// changes of this object (the inverse of the intercom jq module's
	// _object_types).
	Topics []string
}

// Polled reports whether the poller has exact defaults for the resource.
func (r Resource) Polled() bool { return r.Mode != "" }

// Poller modes.
const (
	ModeList   = "list"
	ModeSearch = "search"
	ModeScroll = "scroll"
)

// resources are the Intercom objects connectord knows. Each polled one is
// in the one mode that sees every change exactly once (API 2.11–2.14):
//
// conversations: list mode, as SAP Open Connectors polls them. The list
// reads Intercom's primary store, so a change is visible at once (no
// pollDelay needed), dates compare to the second, and an incremental poll
// costs changes/pageSize + 1 requests.
//
// contacts: search mode. The contact list has no documented order by
// updated_at, so list mode cannot stop early; search can, but contacts
// become searchable only after "a few minutes" and API 2.11 compares their
// dates by calendar day, hence day granularity and the poller's pollDelay.
//
// companies: scroll mode. Neither company list is ordered by updated_at
// (GET /companies and POST /companies/list sort by last_request_at) and
// there is no company search, so no request can stop at the cursor; the
// scroll API walks every company and the poller keeps those changed past
// the cursor. A poll costs companies/50 requests, whatever changed; one
// scroll per app may be open at a time, so poll companies from one
// pipeline only.
//
// tickets: search mode, second granularity. There is no ticket list
// endpoint; POST /tickets/search filters on updated_at (a Unix timestamp,
// ">" meaning ">=", compared to the second), and the search index lags
// like the others, hence the search pollDelay.
//
// articles: list mode. GET /articles is documented as "descending order
// on the updated_at attribute", read from the primary store, paged with
// pages.next as a URL; records sit under "data".
var resources = map[string]Resource{
	"conversations": {Mode: ModeList, Path: "/conversations?order=desc&sort=updated_at", Granularity: "second", Topics: []string{"conversation", "conversation_part"}},
	"contacts":      {Mode: ModeSearch, Path: "/contacts/search", Granularity: "day", Topics: []string{"contact"}},
	"companies":     {Mode: ModeScroll, Path: "/companies/scroll", Granularity: "second", Topics: []string{"company"}},
	"tickets":       {Mode: ModeSearch, Path: "/tickets/search", Granularity: "second", Topics: []string{"ticket"}},
	"articles":      {Mode: ModeList, Path: "/articles", Granularity: "second", Topics: []string{"article"}},
	"users":         {Topics: []string{"user"}},
	"visitors":      {Topics: []string{"visitor"}},
	"admins":        {Topics: []string{"admin"}},
	"events":        {Topics: []string{"event"}},
	"subscriptions": {Topics: []string{"subscription"}},
}

// LookupResource returns what is known of the object called name (plural,
// "conversations"), or false.
func LookupResource(name string) (Resource, bool) {
	r, ok := resources[name]
	r.Name = name
	return r, ok
}

// Resources lists the known objects, sorted by name.
func Resources() []Resource {
	out := make([]Resource, 0, len(resources))
	for name := range resources {
		r, _ := LookupResource(name)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PolledResources lists the names of the objects the poller has defaults
// for, sorted.
func PolledResources() []string {
	var out []string
	for _, r := range Resources() {
		if r.Polled() {
			out = append(out, r.Name)
		}
	}
	return out
}
