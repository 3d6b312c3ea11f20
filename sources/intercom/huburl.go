package intercom

import (
	"fmt"
	"net/url"
	"strings"
)

// TranslateHubURL turns a poller URL written for Open Connectors
// ("/hubs/marketing/conversations?orderBy=updated_at desc") into the
// Intercom request the poller makes ("/conversations?order=desc&sort=updated_at")
// and its mode. A bare resource path of a polled resource ("/hubs/crm/contacts")
// becomes that resource's exact request from the Resources table
// ("/contacts/search", search mode), so the API, import and the poller agree.
// Query parameters that have no Intercom equivalent (a CEQL where clause)
// are dropped and reported in warnings. The poller applies it to a url
// starting with /hubs/, so the seed's configuration works as written;
// `connectord import` applies it when converting an instance.
func TranslateHubURL(raw string) (path, mode string, warnings []string, err error) {
	if strings.Contains(raw, "://") {
		return "", "", nil, fmt.Errorf("%q is an absolute URL: write the resource path (/hubs/<hub>/<resource>)", raw)
	}
	p, query, _ := strings.Cut(raw, "?")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if rest, ok := strings.CutPrefix(p, "/hubs/"); ok {
		_, resource, found := strings.Cut(rest, "/")
		if !found || resource == "" {
			return "", "", nil, fmt.Errorf("%q names a hub but no resource", raw)
		}
		p = "/" + resource
	}
	mode = ModeList
	if strings.HasSuffix(p, "/search") {
		mode = ModeSearch
	}
	if res, ok := LookupResource(strings.TrimPrefix(p, "/")); ok && res.Polled() && (res.Mode != ModeList || query == "") {
		if query != "" {
			warnings = append(warnings, fmt.Sprintf("%s are polled in %s mode (%s); the query %q is not used", res.Name, res.Mode, res.Path, query))
		}
		return res.Path, res.Mode, warnings, nil
	}
	var params []string
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		key, kerr := url.QueryUnescape(k)
		val, verr := url.QueryUnescape(v)
		if kerr != nil || verr != nil {
			key, val = k, v
		}
		switch key {
		case "orderBy":
			field, dir, _ := strings.Cut(strings.TrimSpace(val), " ")
			dir = strings.ToLower(strings.TrimSpace(dir))
			if dir == "" {
				dir = "asc"
			}
			params = append(params, "order="+url.QueryEscape(dir), "sort="+url.QueryEscape(field))
		case "where":
			warnings = append(warnings, fmt.Sprintf("CEQL where clause %q cannot be translated into an Intercom request and is dropped; use a filter transform instead", val))
		default:
			params = append(params, kv)
		}
	}
	if len(params) > 0 {
		p += "?" + strings.Join(params, "&")
	}
	return p, mode, warnings, nil
}
