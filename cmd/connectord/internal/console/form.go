package console

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/connectord/connectord/sources/intercom"
)

// resourceForm is one row of the resources checklist.
type resourceForm struct {
	Name                                                                   string
	Checked                                                                bool
	URL, IDField, UpdatedField, UpdatedFormat, CreatedField, CreatedFormat string
}

// instanceForm is the create and edit form.
type instanceForm struct {
	Name, Tags, ClientID, ClientSecret, EventType, CallbackURL, SignatureKey, RefreshInterval string
	Resources                                                                                 []resourceForm
}

// newForm is the create form pre-filled as SAP Open Connectors does: polling,
// every 15 minutes, conversations checked, each resource with its exact
// request (sources/intercom) and Intercom's timestamp dates.
func newForm() instanceForm {
	f := instanceForm{EventType: "polling", RefreshInterval: "15"}
	for _, name := range intercom.PolledResources() {
		res, _ := intercom.LookupResource(name)
		f.Resources = append(f.Resources, resourceForm{
			Name: name, Checked: name == "conversations", URL: res.Path, IDField: "id",
			UpdatedField: "updated_at", UpdatedFormat: "timestamp", CreatedField: "created_at", CreatedFormat: "timestamp",
		})
	}
	return f
}

// parseForm reads the posted form over the defaults.
func parseForm(v url.Values) instanceForm {
	f := newForm()
	f.Name, f.Tags = strings.TrimSpace(v.Get("name")), v.Get("tags")
	f.ClientID, f.ClientSecret = strings.TrimSpace(v.Get("client_id")), v.Get("client_secret")
	f.EventType, f.CallbackURL = v.Get("event_type"), strings.TrimSpace(v.Get("callback_url"))
	f.SignatureKey, f.RefreshInterval = v.Get("signature_key"), strings.TrimSpace(v.Get("refresh_interval"))
	for i := range f.Resources {
		r := &f.Resources[i]
		r.Checked = v.Get("res_"+r.Name) != ""
		get := func(field string, dst *string) {
			if s, ok := v[""+field+"_"+r.Name]; ok {
				*dst = strings.TrimSpace(s[0])
			}
		}
		get("url", &r.URL)
		get("idField", &r.IDField)
		get("updatedDateField", &r.UpdatedField)
		get("updatedDateFormat", &r.UpdatedFormat)
		get("createdDateField", &r.CreatedField)
		get("createdDateFormat", &r.CreatedFormat)
	}
	return f
}

// configuration is the form as SAP Open Connectors instance configuration.
func (f instanceForm) configuration(redirectURL string) map[string]any {
	c := map[string]any{
		"oauth.api.key": f.ClientID, "oauth.api.secret": f.ClientSecret, "oauth.callback.url": redirectURL,
		"event.notification.enabled": true, "event.vendor.type": f.EventType,
	}
	if f.CallbackURL != "" {
		c["event.notification.callback.url"] = f.CallbackURL
	}
	if f.SignatureKey != "" {
		c["event.notification.signature.key"] = f.SignatureKey
	}
	if f.EventType == "polling" {
		c["event.poller.refresh_interval"] = f.RefreshInterval
		poll := map[string]any{}
		for _, r := range f.Resources {
			if !r.Checked {
				continue
			}
			poll[r.Name] = map[string]any{"url": r.URL, "idField": r.IDField, "datesConfiguration": map[string]string{
				"updatedDateField": r.UpdatedField, "updatedDateFormat": r.UpdatedFormat, "updatedDateTimezone": "GMT",
				"createdDateField": r.CreatedField, "createdDateFormat": r.CreatedFormat, "createdDateTimezone": "GMT",
			}}
		}
		c["event.poller.configuration"] = poll
	}
	return c
}

// body is the POST /instances body for the form; code is the OAuth code
// ("" to check the form before the OAuth round trip).
func (f instanceForm) body(code, redirectURL string) []byte {
	var tags []string
	for _, t := range strings.Split(f.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	b := map[string]any{"element": map[string]string{"key": "intercom"}, "name": f.Name, "tags": tags,
		"configuration": f.configuration(redirectURL)}
	if code != "" {
		b["providerData"] = map[string]string{"code": code}
	}
	out, _ := json.Marshal(b) // maps of strings and bools always encode
	return out
}

// editBody is the PATCH body for the edit form: events configuration,
// callback URL and signature key. An empty signature key keeps the stored
// one; an empty callback URL removes it (events then wait in the queue).
func (f instanceForm) editBody() []byte {
	c := f.configuration("")
	for _, k := range []string{"oauth.api.key", "oauth.api.secret", "oauth.callback.url"} {
		delete(c, k)
	}
	if f.CallbackURL == "" {
		c["event.notification.callback.url"] = nil
	}
	if f.SignatureKey == "" {
		delete(c, "event.notification.signature.key")
	}
	if f.EventType != "polling" {
		c["event.poller.configuration"] = nil
		c["event.poller.refresh_interval"] = nil
	}
	out, _ := json.Marshal(map[string]any{"configuration": c})
	return out
}

// fieldOf maps a request key (soc.BadRequestError.Key) to the form field
// that holds it, "" for the form as a whole.
func fieldOf(key string) string {
	switch key {
	case "name":
		return "name"
	case "configuration.oauth.api.key":
		return "client_id"
	case "configuration.oauth.api.secret":
		return "client_secret"
	case "configuration.event.vendor.type":
		return "event_type"
	case "configuration.event.notification.callback.url":
		return "callback_url"
	case "configuration.event.notification.signature.key":
		return "signature_key"
	case "configuration.event.poller.refresh_interval":
		return "refresh_interval"
	case "configuration.event.poller.configuration":
		return "resources"
	}
	if rest, ok := strings.CutPrefix(key, "configuration.event.poller.configuration."); ok {
		name, field, _ := strings.Cut(rest, ".")
		field = strings.TrimPrefix(field, "datesConfiguration.")
		switch field {
		case "url", "idField", "updatedDateField", "updatedDateFormat", "createdDateField", "createdDateFormat":
			return field + "_" + name
		case "updatedDateTimezone", "createdDateTimezone":
			return strings.Replace(field, "Timezone", "Format", 1) + "_" + name
		}
		return "res_" + name
	}
	return ""
}

// formFromRecord is the edit form for a stored configuration.
func formFromRecord(name string, cfg map[string]json.RawMessage) instanceForm {
	f := newForm()
	f.Name = name
	str := func(k string) string {
		var s string
		if json.Unmarshal(cfg[k], &s) != nil {
			return strings.Trim(string(cfg[k]), `"`)
		}
		return s
	}
	f.EventType = str("event.vendor.type")
	if f.EventType == "webhook" {
		f.EventType = "webhooks"
	}
	f.CallbackURL = str("event.notification.callback.url")
	if ri := str("event.poller.refresh_interval"); ri != "" && ri != "null" {
		f.RefreshInterval = ri
	}
	var poll map[string]struct {
		URL     string            `json:"url"`
		IDField string            `json:"idField"`
		Dates   map[string]string `json:"datesConfiguration"`
	}
	raw := cfg["event.poller.configuration"]
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	_ = json.Unmarshal(raw, &poll)
	for i := range f.Resources {
		r := &f.Resources[i]
		p, ok := poll[r.Name]
		r.Checked = ok
		if ok {
			r.URL, r.IDField = p.URL, p.IDField
			r.UpdatedField, r.UpdatedFormat = p.Dates["updatedDateField"], p.Dates["updatedDateFormat"]
			r.CreatedField, r.CreatedFormat = p.Dates["createdDateField"], p.Dates["createdDateFormat"]
		}
	}
	return f
}
