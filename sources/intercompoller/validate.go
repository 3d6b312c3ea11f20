package intercompoller

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/sources/intercom"
)

// NewSource validates the options; it does no I/O.
func (o *Options) NewSource(bc engine.BuildContext) (engine.Source, error) {
	if strings.HasPrefix(o.URL, "/hubs/") {
		path, mode, warnings, err := intercom.TranslateHubURL(o.URL)
		if err != nil {
			return nil, config.FieldErrorf("url", "%v", err)
		}
		if bc.Logger != nil {
			bc.Logger.Info("SAP Open Connectors hub URL translated to an Intercom request", "url", o.URL, "request", path)
			for _, w := range warnings {
				bc.Logger.Warn(w, "url", o.URL)
			}
		}
		o.URL = path
		if o.Mode == "" {
			o.Mode = mode
		}
	}
	s, err := o.settings()
	if err != nil {
		return nil, err
	}
	return newSource(bc, s), nil
}

// settings validates every option and returns all errors found.
func (o *Options) settings() (settings, error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, config.FieldErrorf(field, format, args...))
	}
	s := settings{
		token: o.Token, tokenRef: o.TokenRef, version: o.IntercomVersion, resource: o.Resource,
		pageSize: o.PageSize, byUpdated: o.FilterByUpdatedDate, currentOnly: o.FilterByCurrentDate,
		tolerance: o.CreatedCheckTolerance.D(), filterNulls: o.FilterNulls, interval: time.Duration(o.RefreshInterval),
	}

	api, err := url.Parse(strings.TrimSuffix(o.API, "/"))
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		fail("api", "must be an http(s) URL such as https://api.intercom.io")
	}
	s.api = api
	switch {
	case o.Token == "" && o.TokenRef == "":
		fail("token", "is required (or token_ref naming a stored OAuth token)")
	case o.Token != "" && o.TokenRef != "":
		fail("token_ref", "set token or token_ref, not both")
	}
	if o.IntercomVersion == "" {
		fail("intercom_version", "must not be empty")
	}
	if o.Resource == "" {
		fail("resource", "is required (the events' objectType, e.g. conversations)")
	}
	if s.interval < time.Second {
		fail("refresh_interval", "must be at least 1s")
	}
	if o.PageSize < 1 || o.PageSize > 150 {
		fail("pageSize", "must be between 1 and 150 (Intercom's maximum)")
	}
	if o.IDField == "" {
		fail("idField", "must not be empty")
	}
	s.idPath = strings.Split(o.IDField, ".")

	mode, rawURL, granularity := o.modeAndURL(fail)
	s.search = mode == intercom.ModeSearch
	s.scroll = mode == intercom.ModeScroll
	s.byDay = granularity == "day"
	if s.url, err = compileURL(rawURL); err != nil {
		fail("url", "%v", err)
	}
	s.pollDelay = 0
	if s.search {
		s.pollDelay = searchPollDelay
	}
	if o.PollDelay != nil {
		s.pollDelay = o.PollDelay.D()
	}

	d := o.Dates
	if s.updated, err = newDateField(d.UpdatedDateField, d.UpdatedDateFormat, d.UpdatedDateTimezone); err != nil {
		fail("datesConfiguration.updatedDateFormat", "%v", err)
	}
	if d.UpdatedDateField == "" {
		fail("datesConfiguration.updatedDateField", "must not be empty")
	}
	if s.created, err = newDateField(d.CreatedDateField, d.CreatedDateFormat, d.CreatedDateTimezone); err != nil {
		fail("datesConfiguration.createdDateFormat", "%v", err)
	}
	if !o.FilterByUpdatedDate && d.CreatedDateField == "" {
		fail("filterByUpdatedDate", "false needs datesConfiguration.createdDateField")
	}

	switch start := strings.TrimSpace(o.Start); strings.ToLower(start) {
	case "", "now":
		s.start.now = true
	case "all":
	default:
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			fail("start", "must be now, all or an RFC 3339 time such as 2024-06-01T00:00:00Z")
		}
		s.start.at = t.UTC()
	}
	return s, errors.Join(errs...)
}

// modeAndURL settles mode, url and search granularity from what is set
// and the resource's defaults.
func (o *Options) modeAndURL(fail func(string, string, ...any)) (mode, rawURL, granularity string) {
	def, known := intercom.LookupResource(o.Resource)
	known = known && def.Polled()
	mode, rawURL, granularity = o.Mode, o.URL, o.SearchGranularity
	switch {
	case mode == "" && rawURL != "":
		mode = "list"
		switch path, _, _ := strings.Cut(rawURL, "?"); {
		case strings.HasSuffix(path, "/search"):
			mode = intercom.ModeSearch
		case strings.HasSuffix(path, "/scroll"):
			mode = intercom.ModeScroll
		}
	case mode == "" && known:
		mode = def.Mode
	case mode == "":
		fail("url", "is required for resource %q (known defaults: %s)", o.Resource, strings.Join(intercom.PolledResources(), ", "))
		mode = "list"
	case mode != intercom.ModeList && mode != intercom.ModeSearch && mode != intercom.ModeScroll:
		fail("mode", "must be list, search or scroll")
	}
	if rawURL == "" {
		switch {
		case known && mode == def.Mode:
			rawURL = def.Path
		case mode == intercom.ModeSearch:
			rawURL = "/" + o.Resource + "/search"
		case mode == intercom.ModeScroll:
			rawURL = "/" + o.Resource + "/scroll"
		default:
			rawURL = "/" + o.Resource
		}
	}
	if granularity == "" {
		granularity = "second"
		if known {
			granularity = def.Granularity
		}
	}
	if granularity != "second" && granularity != "day" {
		fail("search_granularity", "must be second or day")
	}
	return mode, rawURL, granularity
}

func newDateField(field, format, zone string) (dateField, error) {
	f, err := newDateFormat(format, zone)
	if err != nil {
		return dateField{}, err
	}
	df := dateField{name: field, format: f}
	if field != "" {
		df.path = strings.Split(field, ".")
	}
	return df, nil
}
