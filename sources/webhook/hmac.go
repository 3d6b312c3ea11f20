package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// hmacSHA256 verifies an HMAC-SHA256 of the raw body carried in one header.
// Accepted forms, each with or without a "sha256=" prefix (any case):
// 64 hex digits (GitHub's X-Hub-Signature-256), or base64 in the standard
// or URL alphabet, padded or not (Shopify; SAP Open Connectors' own
// Elements-Webhook-Signature).
type hmacSHA256 struct {
	key    []byte
	header string // canonical
}

func (v *hmacSHA256) verify(h http.Header, body []byte, _ time.Time) error {
	sig := h.Get(v.header)
	if sig == "" {
		return errors.New("missing " + v.header + " header")
	}
	got, ok := decodeDigest(sig)
	if !ok {
		return errors.New("malformed " + v.header + " header (want [sha256=]<hex or base64 HMAC-SHA256>)")
	}
	m := hmac.New(sha256.New, v.key)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return errors.New(v.header + " does not match the body")
	}
	return nil
}

// decodeDigest decodes a 32-byte digest from hex or base64. 64 hex digits
// cannot be a 32-byte base64 value (that is 43 or 44 characters), so the
// forms never overlap.
func decodeDigest(sig string) ([]byte, bool) {
	const prefix = "sha256="
	if len(sig) >= len(prefix) && strings.EqualFold(sig[:len(prefix)], prefix) {
		sig = sig[len(prefix):]
	}
	if len(sig) == 2*sha256.Size {
		b, err := hex.DecodeString(sig)
		return b, err == nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(sig); err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

// noVerify accepts every request (verify: none).
type noVerify struct{}

func (noVerify) verify(http.Header, []byte, time.Time) error { return nil }
