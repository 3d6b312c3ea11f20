package soc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// InstancesPipeline is the reserved key space of the instance records.
const InstancesPipeline = "_instances"

const nextIDKey = "next_id"

func instanceKey(id int64) string { return fmt.Sprintf("instance/%010d", id) }
func slugKey(base string) string  { return "slug/" + base }

// Record is a stored instance. It holds no secret: the configuration is
// redacted and the instance token is kept as its SHA-256.
type Record struct {
	ID            int64                      `json:"id"`
	Name          string                     `json:"name"`
	Slug          string                     `json:"slug"`
	File          string                     `json:"file,omitempty"`
	Pipelines     []string                   `json:"pipelines"`
	Polling       []string                   `json:"polling,omitempty"`
	Webhook       string                     `json:"webhook,omitempty"` // the webhook path on --listen
	Env           []string                   `json:"env,omitempty"`
	Tags          []string                   `json:"tags"`
	Configuration map[string]json.RawMessage `json:"configuration"`
	EventsEnabled bool                       `json:"eventsEnabled"`
	CreatedDate   time.Time                  `json:"createdDate"`
	TokenHash     string                     `json:"tokenHash"`
	Warnings      []string                   `json:"warnings,omitempty"`
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// redacted is the number of stars Open Connectors shows for a secret.
const redacted = `"********"`

// redact copies cfg with every secret value that is set replaced.
func redact(cfg map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(cfg))
	for k, v := range cfg {
		if isSecretKey(k) && !isNull(v) && string(v) != `""` {
			v = json.RawMessage(redacted)
		}
		out[k] = v
	}
	return out
}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "event.notification.signature.key":
		return true
	}
	return strings.Contains(k, "secret") || strings.Contains(k, "password") ||
		strings.HasSuffix(k, "token") || strings.HasSuffix(k, "_token")
}

func (a *Instances) nextID(ctx context.Context) (int64, error) {
	v, err := a.d.Store.Value(ctx, InstancesPipeline, nextIDKey)
	if errors.Is(err, store.ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the instance counter: %w", err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("instance counter %q is not a number", v)
	}
	return n + 1, nil
}

func (a *Instances) record(ctx context.Context, id int64) (*Record, error) {
	v, err := a.d.Store.Value(ctx, InstancesPipeline, instanceKey(id))
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("instance %d: stored record is corrupt: %w", id, err)
	}
	return &rec, nil
}

func (a *Instances) records(ctx context.Context) ([]*Record, error) {
	var out []*Record
	var decodeErr error
	err := a.d.Store.Scan(ctx, InstancesPipeline, "instance/", func(key string, v []byte) bool {
		var rec Record
		if decodeErr = json.Unmarshal(v, &rec); decodeErr != nil {
			decodeErr = fmt.Errorf("%s: stored record is corrupt: %w", key, decodeErr)
			return false
		}
		out = append(out, &rec)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return out, err
}

// view is an instance as the API answers it; Token is set only in the
// answer to the create.
type view struct {
	ID            int64                      `json:"id"`
	Name          string                     `json:"name"`
	Token         string                     `json:"token,omitempty"`
	Element       elementView                `json:"element"`
	Tags          []string                   `json:"tags"`
	Configuration map[string]json.RawMessage `json:"configuration"`
	EventsEnabled bool                       `json:"eventsEnabled"`
	CreatedDate   string                     `json:"createdDate"`
	Pipelines     []string                   `json:"pipelines"`
	// WebhookURL is what to paste into the Intercom app's Webhooks page
	// (SAP Open Connectors shows it as the instance's "Webhook URL").
	WebhookURL string `json:"webhookUrl,omitempty"`
	// CallbackURL is event.notification.callback.url; "" means the events
	// wait in the queue, Notice says so.
	CallbackURL string   `json:"callbackUrl,omitempty"`
	Notice      string   `json:"notice,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

type elementView struct {
	Key string `json:"key"`
}

// WebhookURL is the instance's Webhook URL under base (PublicBase), or ""
// for a polling instance.
func (rec *Record) WebhookURL(base string) string {
	if rec.Webhook == "" {
		return ""
	}
	return strings.TrimSuffix(base, "/") + rec.Webhook
}

// CallbackURL is the instance's event.notification.callback.url.
func (rec *Record) CallbackURL() string {
	var u string
	_ = json.Unmarshal(rec.Configuration["event.notification.callback.url"], &u)
	return u
}

// NoCallbackNotice is shown for an instance with events but no callback URL.
const NoCallbackNotice = "no callback URL: events wait in the queue until event.notification.callback.url is set (PATCH this instance)"

func (rec *Record) view(token, base string) view {
	tags := rec.Tags
	if tags == nil {
		tags = []string{}
	}
	pipes := rec.Pipelines
	if pipes == nil {
		pipes = []string{}
	}
	return view{
		ID: rec.ID, Name: rec.Name, Token: token, Element: elementView{Key: ElementKey},
		Tags: tags, Configuration: rec.Configuration, EventsEnabled: rec.EventsEnabled,
		CreatedDate: rec.CreatedDate.UTC().Format(time.RFC3339), Pipelines: pipes, Warnings: rec.Warnings,
		WebhookURL: rec.WebhookURL(base), CallbackURL: rec.CallbackURL(), Notice: rec.Notice(),
	}
}

// Notice is NoCallbackNotice when the instance's events have nowhere to go.
func (rec *Record) Notice() string {
	if rec.EventsEnabled && rec.CallbackURL() == "" {
		return NoCallbackNotice
	}
	return ""
}
