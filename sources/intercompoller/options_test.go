package intercompoller

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

func decodeOptions(t *testing.T, src string) (*Options, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	if _, errs := config.Decode("p.yaml", &doc, o); len(errs) > 0 {
		return nil, errs
	}
	return o, nil
}

func TestOptionsFromYAML(t *testing.T) {
	o, err := decodeOptions(t, `
api: https://api.eu.intercom.io
token: abc
refresh_interval: "15"
resource: conversations
url: /conversations?order=desc&sort=updated_at
idField: id
datesConfiguration:
  updatedDateField: updated_at
  updatedDateFormat: timestamp
  updatedDateTimezone: GMT
  createdDateField: created_at
  createdDateFormat: timestamp
  createdDateTimezone: GMT
pageSize: 150
pollDelay: 30
createdCheckTolerance: 2
filterByCurrentDate: false
`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.interval != 15*time.Minute || s.pageSize != 150 || s.pollDelay != 30*time.Second || s.tolerance != 2*time.Second ||
		s.search || s.currentOnly || !s.byUpdated || !s.filterNulls || !s.start.now || s.version != "2.11" {
		t.Errorf("settings %+v", s)
	}
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{{"refresh_interval: 15", 15 * time.Minute}, {"refresh_interval: 30s", 30 * time.Second}} {
		o, err := decodeOptions(t, tc.yaml)
		if err != nil || time.Duration(o.RefreshInterval) != tc.want {
			t.Errorf("%s: %v, %v", tc.yaml, o.RefreshInterval, err)
		}
	}
	// Placeholders stay as written (the loader turned $${ into ${ before).
	o, err = decodeOptions(t, "url: /x?since=${epoch:s}")
	if err != nil || o.URL != "/x?since=${epoch:s}" {
		t.Errorf("url %q, %v", o.URL, err)
	}
}

func TestOptionDefaultsPerResource(t *testing.T) {
	for _, tc := range []struct {
		resource, mode, url, wantURL string
		search, byDay                bool
		pollDelay                    time.Duration
	}{
		{"conversations", "", "", "/conversations?order=desc&sort=updated_at", false, false, 0},
		{"contacts", "", "", "/contacts/search", true, true, 300 * time.Second},
		{"conversations", "search", "", "/conversations/search", true, false, 300 * time.Second},
		{"contacts", "list", "", "/contacts", false, true, 0},
		{"tickets", "", "/tickets/search", "/tickets/search", true, false, 300 * time.Second},
		{"companies", "", "/companies?per_page=60", "/companies?per_page=60", false, false, 0},
	} {
		o := NewOptions()
		o.Token, o.Resource, o.Mode, o.URL = "t", tc.resource, tc.mode, tc.url
		s, err := o.settings()
		if err != nil {
			t.Errorf("%s/%s: %v", tc.resource, tc.mode, err)
			continue
		}
		if got := s.url.expand(time.Unix(0, 0)); got != tc.wantURL || s.search != tc.search || s.byDay != tc.byDay || s.pollDelay != tc.pollDelay {
			t.Errorf("%s/%s: url %q search %v byDay %v pollDelay %s", tc.resource, tc.mode, got, s.search, s.byDay, s.pollDelay)
		}
	}
}

func TestOptionErrorsNameTheirField(t *testing.T) {
	o := NewOptions()
	o.API = "ftp://x"
	o.PageSize = 151
	o.RefreshInterval = Interval(time.Millisecond)
	o.Start = "yesterday"
	o.Mode = "stream"
	o.Resource = "conversations"
	o.Dates.UpdatedDateFormat = "kk"
	_, err := o.NewSource(engine.BuildContext{Pipeline: "p"})
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, field := range []string{"api:", "token:", "pageSize:", "refresh_interval:", "start:", "mode:", "datesConfiguration.updatedDateFormat:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
	o = NewOptions()
	o.Token, o.Resource = "t", "notes"
	if _, err := o.NewSource(engine.BuildContext{}); err == nil || !strings.Contains(err.Error(), "url:") {
		t.Errorf("unknown resource without url: %v", err)
	}
	o = NewOptions()
	o.Token, o.TokenRef, o.Resource = "t", "main", "conversations"
	if _, err := o.NewSource(engine.BuildContext{}); err == nil || !strings.Contains(err.Error(), "token_ref:") {
		t.Errorf("token and token_ref: %v", err)
	}
}

// TestSeedPollingConfigurationAsWritten decodes the seed's SAP Open
// Connectors polling configuration (its hub URL included) and checks it
// becomes the Intercom request SAP Open Connectors would make.
func TestSeedPollingConfigurationAsWritten(t *testing.T) {
	o, err := decodeOptions(t, `
token: abc
refresh_interval: "15"
resource: conversations
url: /hubs/marketing/conversations?orderBy=updated_at desc
idField: id
datesConfiguration:
  updatedDateField: updated_at
  updatedDateFormat: timestamp
  updatedDateTimezone: GMT
  createdDateField: created_at
  createdDateFormat: timestamp
  createdDateTimezone: GMT
`)
	if err != nil {
		t.Fatal(err)
	}
	src, err := o.NewSource(engine.BuildContext{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*Source).cfg
	if got := s.url.expand(time.Unix(0, 0)); got != "/conversations?order=desc&sort=updated_at" || s.search || s.interval != 15*time.Minute {
		t.Errorf("seed configuration became url %q search %v interval %s", got, s.search, s.interval)
	}
	for _, bad := range []string{"/hubs/marketing", "/hubs/"} {
		o.URL = bad
		if _, err := o.NewSource(engine.BuildContext{Pipeline: "p"}); err == nil || !strings.Contains(err.Error(), "url") {
			t.Errorf("url %q: err %v", bad, err)
		}
	}
}
