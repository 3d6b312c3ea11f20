// Package webhook is the generic webhook source: it receives JSON webhooks
// from any sender on the shared --listen server, verifies them (Standard
// Webhooks, a plain HMAC-SHA256 header, or not at all), and stores each
// message once, deduplicated on its webhook-id, before answering 200.
package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/sources/internal/intake"
)

// verifier authenticates a raw body; its errors are answered with 401 and
// never contain the key or the expected signature.
type verifier interface {
	verify(h http.Header, body []byte, now time.Time) error
}

// Source is a configured webhook source.
type Source struct {
	opts     Options
	verifier verifier
	idHeader string              // canonical
	drop     []string            // signature headers kept out of $meta
	bc       engine.BuildContext // logger and clock
	// sweepEvery overrides the dedupe sweep period (tests).
	sweepEvery time.Duration
}

var _ engine.HTTPSource = (*Source)(nil)

// Path is where the source is mounted.
func (s *Source) Path() string { return s.opts.Path }

// Handler serves the sender's requests for one pipeline generation.
func (s *Source) Handler(host engine.Host) http.Handler {
	return &intake.Endpoint{
		Host:        host,
		Logger:      s.bc.Logger,
		Clock:       s.bc.Clock,
		MaxBody:     s.opts.MaxBody,
		Verify:      s.verifier.verify,
		Decide:      s.decide,
		DropHeaders: s.drop,
	}
}

// Run expires dedupe marks until ctx ends; requests are served by Handler.
func (s *Source) Run(ctx context.Context, host engine.Host) error {
	return intake.Sweeper{Window: s.opts.DedupeWindow.D(), Every: s.sweepEvery, Logger: s.bc.Logger, Clock: s.bc.Clock}.Run(ctx, host)
}

// decide stores any JSON body. The id is the sender's message id, or a hash
// of the body, so a resend of an id-less message keeps its eventId.
func (s *Source) decide(h http.Header, body []byte, v any) (intake.Verdict, error) {
	id := h.Get(s.idHeader)
	dedupe := id
	if id == "" {
		sum := sha256.Sum256(body)
		id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return intake.Verdict{Event: engine.Event{Value: v, ID: id, Plain: true}, DedupeID: dedupe}, nil
}
