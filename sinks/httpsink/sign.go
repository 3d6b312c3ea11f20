package httpsink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Header names. Go canonicalises them on the wire for HTTP/1 and lower-cases
// them for HTTP/2; receivers match header names case-insensitively.
const (
	HeaderElementsID        = "Elements-Webhook-Id"
	HeaderElementsSignature = "Elements-Webhook-Signature"
	HeaderStandardID        = "Webhook-Id"
	HeaderStandardTimestamp = "Webhook-Timestamp"
	HeaderStandardSignature = "Webhook-Signature"
)

// StandardSecretPrefix marks a Standard Webhooks secret whose key bytes are
// base64-encoded after the prefix.
const StandardSecretPrefix = "whsec_"

// SignElements returns the Elements-Webhook-Signature value SAP Open
// Connectors sends: "sha256=" + base64(HMAC-SHA256(key, body)).
func SignElements(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignStandard returns one Standard Webhooks signature,
// "v1," + base64(HMAC-SHA256(secret, id + "." + ts + "." + body)), where ts is
// the webhook-timestamp header value (Unix seconds) and secret the decoded key
// (see DecodeStandardSecret).
func SignStandard(secret []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// DecodeStandardSecret turns a configured Standard Webhooks secret into key
// bytes: a "whsec_" secret is base64-decoded, anything else is used as is.
// Its errors never contain the secret.
func DecodeStandardSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("secret is empty")
	}
	enc, ok := strings.CutPrefix(s, StandardSecretPrefix)
	if !ok {
		return []byte(s), nil
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// CorruptInputError carries only a byte offset, never the input.
		return nil, fmt.Errorf("%s secret is not valid base64: %w", StandardSecretPrefix, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%s secret has no key bytes", StandardSecretPrefix)
	}
	return key, nil
}
