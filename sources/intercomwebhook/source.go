// Package intercomwebhook is the intercom_webhook source: it receives
// Intercom webhook notifications on the shared --listen server, verifies
// X-Hub-Signature, and stores each notification once (deduplicated on its
// id) before answering 200, so Intercom retries anything not stored.
package intercomwebhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/sources/internal/intake"
)

// Meta keys this source adds.
const (
	MetaTopic = "topic"
	MetaAppID = "app_id"
)

// Source is a configured intercom_webhook.
type Source struct {
	opts   Options
	secret []byte    // nil: signatures are not verified
	verify *verifier // of secret
	topics []string
	bc     engine.BuildContext // logger and clock
	// sweepEvery overrides the sweep period (tests).
	sweepEvery time.Duration
}

var _ engine.HTTPSource = (*Source)(nil)

// Path is where the source is mounted.
func (s *Source) Path() string { return s.opts.Path }

// Handler serves Intercom's requests for one pipeline generation.
func (s *Source) Handler(host engine.Host) http.Handler {
	return &intake.Endpoint{
		Host:        host,
		Logger:      s.bc.Logger,
		Clock:       s.bc.Clock,
		MaxBody:     s.opts.MaxBody,
		Verify:      s.verifySignature,
		Decide:      s.decide,
		DropHeaders: []string{SignatureHeader},
	}
}

// Run expires dedupe marks until ctx ends; requests are served by Handler.
func (s *Source) Run(ctx context.Context, host engine.Host) error {
	return intake.Sweeper{Window: s.opts.DedupeWindow.D(), Every: s.sweepEvery, Logger: s.bc.Logger, Clock: s.bc.Clock}.Run(ctx, host)
}

func (s *Source) verifySignature(h http.Header, body []byte, _ time.Time) error {
	if s.secret == nil {
		return nil
	}
	return s.verify.verify(h, body)
}

var errNotObject = errors.New("notification is not a JSON object")

// decide maps a notification to an event: ping and topics outside the
// allow-list are acknowledged without storing.
func (s *Source) decide(_ http.Header, _ []byte, v any) (intake.Verdict, error) {
	n, ok := v.(map[string]any)
	if !ok {
		return intake.Verdict{}, errNotObject
	}
	topic, _ := n["topic"].(string)
	if topic == "ping" {
		return intake.Verdict{Skip: intake.StatusPing}, nil
	}
	if !s.allowed(topic) {
		return intake.Verdict{Skip: intake.StatusIgnored, Reason: fmt.Sprintf("topic %q is not in this source's topics", topic)}, nil
	}
	id := engine.IDString(n["id"])
	if id == "" {
		id = derivedID(n)
	}
	item := itemID(n)
	key := engine.IDString(item)
	// Sized for what the webhook flow and the host add (intake.Verdict).
	// Strings are put in as the notification holds them, boxed already.
	meta := make(engine.Meta, 8)
	topicV := n["topic"] // a string, or no topic at all
	if topic == "" {
		topicV = ""
	}
	meta[MetaTopic], meta[MetaAppID] = topicV, idValue(n["app_id"])
	if key != "" {
		meta[engine.MetaObjectID] = idValue(item)
	}
	if given, ok := n["id"].(string); ok && given == id {
		meta[engine.MetaID] = n["id"]
	}
	return intake.Verdict{
		Event:    engine.Event{Value: n, ID: id, Key: key, Meta: meta, Plain: true},
		DedupeID: id,
	}, nil
}

// volatileFields change when Intercom retries a notification; they are left
// out of a derived id.
var volatileFields = map[string]bool{
	"id": true, "delivery_attempts": true, "delivery_status": true, "delivered_at": true,
	"first_sent_at": true, "self": true, "links": true,
}

// derivedID is the id of a notification that came without one: a hash of
// its content without the fields a retry changes, so a resend by Intercom
// is deduplicated like any other, and the callback's eventId is never
// empty.
func derivedID(n map[string]any) string {
	stable := make(map[string]any, len(n))
	for k, v := range n {
		if !volatileFields[k] {
			stable[k] = v
		}
	}
	b, _ := json.Marshal(stable) // decoded JSON marshals; map keys are sorted
	sum := sha256.Sum256(b)
	return "notif_derived_" + hex.EncodeToString(sum[:16])
}

// itemID is data.item.id, the changed object's id, or nil.
func itemID(n map[string]any) any {
	data, _ := n["data"].(map[string]any)
	item, _ := data["item"].(map[string]any)
	return item["id"]
}

// idValue is v as engine.IDString has it, reusing v's box when v is a
// string already.
func idValue(v any) any {
	if _, ok := v.(string); ok {
		return v
	}
	return engine.IDString(v)
}

func (s *Source) allowed(topic string) bool {
	if len(s.topics) == 0 {
		return true
	}
	for _, glob := range s.topics {
		if ok, _ := path.Match(glob, topic); ok {
			return true
		}
	}
	return false
}
