package soc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/sources/intercom"
)

// Options change how a Request becomes pipelines.
type Options struct {
	// NamePrefix is put in front of every name derived from the instance
	// name (pipelines, file, token, variables).
	NamePrefix string
	// TokenEnv makes polling pipelines read the Intercom token from
	// ${<PREFIX>_INTERCOM_TOKEN} instead of token_ref.
	TokenEnv bool
	// API says the file is written by the /instances API, whose secrets
	// live in DATA/soc/secrets.json; it changes only the file's header
	// comment. The API and the importer write the same pipelines for the
	// same body: without a callback URL the sink holds the events in the
	// queue (http: {hold: …}) until one is set.
	API bool
}

// Plan is what a Request becomes.
type Plan struct {
	Base      string   // prefix + slug: the file stem, token name and name stem
	File      string   // Base + ".yaml"
	YAML      []byte   // the pipelines file; nil when there is nothing to write
	Pipelines []string // every pipeline in YAML
	Polling   []string // the polling pipelines (they read the stored token)
	Webhook   string   // the webhook pipeline's path on --listen; "" for polling
	TokenRef  string   // the stored token the pollers use; "" with TokenEnv
	Env       []EnvVar // variables YAML references, besides INTERCOM_API
	Warnings  []string
	api       bool // made for the /instances API: variables come from its secrets file
}

// EnvVar is a variable a generated file reads. Value is the secret from the
// request, if it had one; it is never written to YAML or printed.
type EnvVar struct {
	Name    string
	Purpose string
	Value   config.Secret
}

// Intercom defaults written into every poller.
const (
	defaultAPI      = "${INTERCOM_API:-https://api.intercom.io}"
	intercomVersion = "2.11"
	pollProgram     = `include "intercom"; poll_event`
	webhookProgram  = `include "intercom"; webhook_event`
	dropNulls       = ` | .message.raw |= drop_nulls`
)

// Convert turns r into a pipelines file.
func Convert(r *Request, o Options) (*Plan, error) {
	base := o.NamePrefix + Slug(r.Name)
	if Slug(base) != base {
		return nil, badf("name", "prefix %q + %q does not make a valid pipeline name", o.NamePrefix, Slug(r.Name))
	}
	p := &Plan{Base: base, File: base + ".yaml", Warnings: slices.Clone(r.Warnings), api: o.API}
	c := r.Config
	if !c.EventsEnabled {
		p.warn("event.notification.enabled is not true: no pipeline is written (the API stores only the token)")
		return p, nil
	}
	if c.VendorType == "" {
		p.warn("no event.vendor.type: nothing to write")
		return p, nil
	}
	prefix := EnvPrefix(base)
	sink, err := p.sink(c, prefix)
	if err != nil {
		return nil, err
	}
	var pipes []*pipeline
	if c.VendorType == "polling" {
		pipes, err = p.pollers(r, prefix, o, sink)
	} else {
		pipes, err = p.webhooks(r, prefix, sink)
	}
	if err != nil {
		return nil, err
	}
	for _, pl := range pipes {
		if len(pl.name) > config.MaxNameLen {
			return nil, badf("name", "pipeline name %q is longer than %d characters", pl.name, config.MaxNameLen)
		}
	}
	p.YAML, err = render(r, p, pipes)
	return p, err
}

func (p *Plan) warn(format string, args ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...))
}

func (p *Plan) env(name, purpose string, value config.Secret) ref {
	p.Env = append(p.Env, EnvVar{Name: name, Purpose: purpose, Value: value})
	return ref("${" + name + "}")
}

// description says where a pipeline came from; tags live here because
// pipeline files have no tags field.
func description(r *Request) string {
	d := fmt.Sprintf("SAP Open Connectors instance %q", r.Name)
	if len(r.Tags) > 0 {
		d += " (tags: " + strings.Join(r.Tags, ", ") + ")"
	}
	return d
}

// HoldReason is what a sink without callback URL holds its events for.
const HoldReason = "set event.notification.callback.url (PATCH /elements/api-v2/instances/{id} or the console) or sink.http.url here"

// sink is the http sink for the callback URL, shared by every pipeline.
// Without a callback URL it holds the events in the queue: never a
// silent stdout sink, never dropped.
func (p *Plan) sink(c Configuration, prefix string) (*node, error) {
	var h *node
	switch {
	case c.CallbackURL == "":
		p.warn("no event.notification.callback.url: events wait in the queue (no callback URL) until one is set")
		h = mapping("hold", HoldReason)
	case !strings.HasPrefix(c.CallbackURL, "http://") && !strings.HasPrefix(c.CallbackURL, "https://"):
		return nil, badf("configuration.event.notification.callback.url", "must be an http or https URL")
	default:
		h = mapping("url", c.CallbackURL)
	}
	if c.SignatureKey != "" {
		key := p.env(prefix+"_SIGNATURE_KEY", "event.notification.signature.key", c.SignatureKey)
		h.add("signature", mapping("key", key, "scheme", "elements"))
	}
	return mapping("http", h), nil
}

func (p *Plan) pollers(r *Request, prefix string, o Options, sink *node) ([]*pipeline, error) {
	c := r.Config
	resources := c.Resources
	if len(c.Objects) > 0 {
		resources = nil
		for _, obj := range c.Objects {
			i := slices.IndexFunc(c.Resources, func(res Resource) bool { return res.Name == obj })
			if i < 0 {
				p.warn("event.objects names %q, which event.poller.configuration does not configure; ignored", obj)
				continue
			}
			resources = append(resources, c.Resources[i])
		}
		for _, res := range c.Resources {
			if !slices.Contains(c.Objects, res.Name) {
				p.warn("event.poller.configuration.%s is not in event.objects; not polled", res.Name)
			}
		}
		if len(resources) == 0 {
			return nil, badf("configuration.event.objects", "none of %q is configured in event.poller.configuration", strings.Join(c.Objects, ","))
		}
	}
	var token []any
	if o.TokenEnv {
		token = []any{"token", p.env(prefix+"_INTERCOM_TOKEN", "the Intercom access token", "")}
	} else {
		token = []any{"token_ref", p.Base}
		p.TokenRef = p.Base
	}
	program := pollProgram
	var out []*pipeline
	for _, res := range resources {
		url, mode, warnings, err := intercom.TranslateHubURL(res.URL)
		if err != nil {
			return nil, badf("configuration.event.poller.configuration."+res.Name+".url", "%v", err)
		}
		for _, w := range warnings {
			p.warn("event.poller.configuration.%s.url: %s", res.Name, w)
		}
		src := mapping("api", ref(defaultAPI))
		src.add(token...)
		src.add("intercom_version", intercomVersion)
		if c.RefreshInterval != nil {
			src.add("refresh_interval", c.RefreshInterval)
		}
		src.add("resource", res.Name, "url", url, "mode", mode)
		if res.IDField != "" {
			src.add("idField", res.IDField)
		}
		if len(res.Dates) > 0 {
			d := mapping()
			for _, kv := range res.Dates {
				d.add(kv.Key, kv.Value)
			}
			src.add("datesConfiguration", d)
		}
		for _, kv := range res.Extras {
			src.add(kv.Key, kv.Value)
		}
		src.add("filter_nulls", c.FilterNulls)
		name := p.Base + "-" + res.Name
		p.Pipelines = append(p.Pipelines, name)
		p.Polling = append(p.Polling, name)
		out = append(out, &pipeline{name: name, source: mapping("intercom_poller", src), program: program, sink: sink})
	}
	return out, nil
}

func (p *Plan) webhooks(r *Request, prefix string, sink *node) ([]*pipeline, error) {
	c := r.Config
	secretPurpose := "oauth.api.secret: the Intercom app's client secret, which signs webhooks"
	src := mapping(
		"path", "/webhooks/intercom/"+p.Base,
		"client_secret", p.env(prefix+"_INTERCOM_CLIENT_SECRET", secretPurpose, c.ClientSecret),
	)
	var topics []any
	for _, obj := range c.Objects {
		globs, known := topicGlobs(obj)
		if !known {
			p.warn("event.objects: %q is not a known Intercom object; allowing topics %s", obj, strings.Join(globs, ", "))
		}
		for _, g := range globs {
			if !slices.Contains(topics, any(g)) {
				topics = append(topics, g)
			}
		}
	}
	if len(topics) > 0 {
		src.add("topics", sequence(topics...))
	}
	program := webhookProgram
	if c.FilterNulls {
		program += dropNulls
	}
	name := p.Base + "-webhooks"
	p.Pipelines = append(p.Pipelines, name)
	p.Webhook = "/webhooks/intercom/" + p.Base
	return []*pipeline{{name: name, source: mapping("intercom_webhook", src), program: program, sink: sink}}, nil
}
