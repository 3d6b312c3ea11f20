package intercomwebhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// SignatureHeader carries Intercom's body signature.
const SignatureHeader = "X-Hub-Signature"

const sigPrefix = "sha1="

// SignIntercom returns the X-Hub-Signature value Intercom sends for body:
// "sha1=" + hex HMAC-SHA1(secret, body).
func SignIntercom(secret, body []byte) string {
	return sigPrefix + hex.EncodeToString(mac(secret, body))
}

func mac(secret, body []byte) []byte {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

var (
	errNoSignature  = errors.New("missing " + SignatureHeader + " header")
	errBadSignature = errors.New("malformed " + SignatureHeader + " header (want sha1=<40 hex digits>)")
	errWrongSig     = errors.New(SignatureHeader + " does not match the body")
)

// verify checks X-Hub-Signature against body in constant time.
func verify(secret []byte, h http.Header, body []byte) error {
	sig := h.Get(SignatureHeader)
	if sig == "" {
		return errNoSignature
	}
	if len(sig) < len(sigPrefix) || !strings.EqualFold(sig[:len(sigPrefix)], sigPrefix) {
		return errBadSignature
	}
	got, err := hex.DecodeString(sig[len(sigPrefix):])
	if err != nil || len(got) != sha1.Size {
		return errBadSignature
	}
	if !hmac.Equal(got, mac(secret, body)) {
		return errWrongSig
	}
	return nil
}

// SignTestRequest signs req as Intercom does with the app's client secret
// (X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>), for golden-file cases
// (pipelines/goldentest).
func (s *Source) SignTestRequest(req *http.Request, body []byte, secret, _ string, _ time.Time) error {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	req.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
	return nil
}
