package intercomsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// notificationSeq numbers simulated notifications across servers.
var notificationSeq atomic.Uint64

// Notification builds the Intercom webhook notification for a change, in
// the shape of a real one (notification_event with the record as data.item).
func (s *Server) Notification(c Change) ([]byte, error) {
	item, ok := s.Get(c.Kind, c.ID)
	if !ok {
		return nil, fmt.Errorf("intercomsim: no %s %q", c.Kind, c.ID)
	}
	now := s.opts.Clock.Now().Unix()
	n := map[string]any{
		"type":              "notification_event",
		"id":                fmt.Sprintf("notif_sim_%d_%d", now, notificationSeq.Add(1)),
		"topic":             topicFor(c),
		"app_id":            "simapp1",
		"data":              map[string]any{"type": "notification_event_data", "item": json.RawMessage(item)},
		"delivery_status":   "pending",
		"delivery_attempts": 1,
		"delivered_at":      0,
		"first_sent_at":     now,
		"created_at":        now,
		"links":             map[string]any{},
		"self":              nil,
	}
	return json.Marshal(n)
}

func topicFor(c Change) string {
	switch {
	case c.Kind == Conversations && c.Created:
		return "conversation.user.created"
	case c.Kind == Conversations:
		return "conversation.admin.replied"
	case c.Kind == Contacts && c.Created:
		return "contact.user.created"
	case c.Kind == Contacts:
		return "contact.user.updated"
	case c.Kind == Tickets && c.Created:
		return "ticket.created"
	case c.Kind == Tickets:
		return "ticket.state.updated"
	case c.Kind == Articles && c.Created:
		return "article.created"
	case c.Kind == Articles:
		return "article.updated"
	case c.Created:
		return "company.created"
	default:
		return "company.updated"
	}
}

// Sign is Intercom's webhook signature: X-Hub-Signature: sha1=<hex
// HMAC-SHA1(client secret, body)>.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// SendWebhook posts a signed notification as Intercom does and returns the
// status the endpoint answered.
func SendWebhook(ctx context.Context, client *http.Client, url, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "intercom-parrot-service-client/1.0")
	req.Header.Set("X-Hub-Signature", Sign(secret, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TrickleOptions configure Trickle.
type TrickleOptions struct {
	// Every is the pause between changes (default 1s).
	Every time.Duration
	// WebhookURL, if set, receives a signed notification per change,
	// signed with ClientSecret.
	WebhookURL   string
	ClientSecret string
	// OnChange, if set, is told about each change and the webhook answer
	// (0 when none was sent or it failed to send).
	OnChange func(c Change, status int, err error)
}

// Trickle makes one random change every opts.Every until ctx ends, and
// notifies the webhook endpoint of each: a live workspace in miniature.
func (s *Server) Trickle(ctx context.Context, opts TrickleOptions) {
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	client := &http.Client{Timeout: 10 * time.Second}
	t := time.NewTicker(opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range s.Churn(1) {
			status, err := 0, error(nil)
			if opts.WebhookURL != "" {
				var body []byte
				if body, err = s.Notification(c); err == nil {
					status, err = SendWebhook(ctx, client, opts.WebhookURL, opts.ClientSecret, body)
				}
			}
			if opts.OnChange != nil && ctx.Err() == nil {
				opts.OnChange(c, status, err)
			}
		}
	}
}
