package intercom

import (
	"slices"
	"testing"
)

func TestTranslateHubURL(t *testing.T) {
	for _, tc := range []struct {
		in, path, mode string
		warnings       int
	}{
		{"/hubs/marketing/conversations?orderBy=updated_at desc", "/conversations?order=desc&sort=updated_at", "list", 0},
		{"/hubs/crm/contacts/search", "/contacts/search", "search", 0},
		{"/conversations?where=state='open'", "/conversations", "list", 1},
		{"contacts", "/contacts/search", "search", 0},
		{"/hubs/crm/companies", "/companies/scroll", "scroll", 0},
		{"/hubs/helpdesk/tickets?orderBy=updated_at desc", "/tickets/search", "search", 1},
		{"/hubs/x/articles", "/articles", "list", 0},
		{"/hubs/x/things", "/things", "list", 0},
	} {
		path, mode, warnings, err := TranslateHubURL(tc.in)
		if err != nil || path != tc.path || mode != tc.mode || len(warnings) != tc.warnings {
			t.Errorf("TranslateHubURL(%q) = %q, %q, %q, %v; want %q, %q, %d warnings", tc.in, path, mode, warnings, err, tc.path, tc.mode, tc.warnings)
		}
	}
	for _, bad := range []string{"https://api.intercom.io/conversations", "/hubs/crm"} {
		if _, _, _, err := TranslateHubURL(bad); err == nil {
			t.Errorf("TranslateHubURL(%q) accepted", bad)
		}
	}
}

func TestResources(t *testing.T) {
	if got := PolledResources(); !slices.Contains(got, "conversations") || !slices.Contains(got, "contacts") {
		t.Fatalf("PolledResources() = %q", got)
	}
	r, ok := LookupResource("contacts")
	if !ok || r.Name != "contacts" || r.Mode != "search" || r.Granularity != "day" || r.Topics[0] != "contact" {
		t.Fatalf("LookupResource(contacts) = %+v, %v", r, ok)
	}
	if r, ok := LookupResource("users"); !ok || r.Polled() {
		t.Fatalf("users = %+v, %v: known, not polled by default", r, ok)
	}
	for name, mode := range map[string]string{"companies": ModeScroll, "tickets": ModeSearch, "articles": ModeList} {
		if r, ok := LookupResource(name); !ok || r.Mode != mode {
			t.Errorf("%s = %+v, %v; want mode %s", name, r, ok, mode)
		}
	}
	for _, r := range Resources() {
		if len(r.Topics) == 0 {
			t.Errorf("%s has no webhook topics", r.Name)
		}
		if r.Polled() && (r.Path == "" || r.Granularity == "") {
			t.Errorf("%s is polled but has no path or granularity: %+v", r.Name, r)
		}
	}
}
