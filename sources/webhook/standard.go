package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers (standardwebhooks.com).
const (
	standardID        = "webhook-id"
	standardTimestamp = "webhook-timestamp"
	standardSignature = "webhook-signature"
)

// standard verifies Standard Webhooks: webhook-signature holds
// space-separated "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" entries
// (several while keys rotate; other versions are skipped) and any match
// passes; webhook-timestamp must be within tolerance of now, so a captured
// request cannot be replayed later.
type standard struct {
	key       []byte
	tolerance time.Duration
}

var errNoMatch = errors.New("no webhook-signature entry matches the body")

func (s *standard) verify(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get(standardID), h.Get(standardTimestamp), h.Get(standardSignature)
	switch {
	case id == "":
		return errors.New("missing webhook-id header")
	case ts == "":
		return errors.New("missing webhook-timestamp header")
	case sigs == "":
		return errors.New("missing webhook-signature header")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("malformed webhook-timestamp (want Unix seconds)")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > s.tolerance || d < -s.tolerance {
		return fmt.Errorf("webhook-timestamp is %s from now, outside the %s tolerance", d.Round(time.Second), s.tolerance)
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, entry := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errNoMatch
}
