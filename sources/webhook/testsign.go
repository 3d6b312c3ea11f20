package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// SignTestRequest signs req the way a sender holding secret would under
// this pipeline's verify setting, so golden-file cases (pipelines/goldentest)
// can send valid requests without knowing the scheme. id is the Standard
// Webhooks message id; empty, one is derived from the body.
func (s *Source) SignTestRequest(req *http.Request, body []byte, secret, id string, now time.Time) error {
	switch v := s.verifier.(type) {
	case *standard:
		key, err := standardKey(secret)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if id == "" {
			sum := sha256.Sum256(body)
			id = "msg_" + hex.EncodeToString(sum[:8])
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		req.Header.Set(standardID, id)
		req.Header.Set(standardTimestamp, ts)
		req.Header.Set(standardSignature, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	case *hmacSHA256:
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req.Header.Set(v.header, "sha256="+hex.EncodeToString(m.Sum(nil)))
	case noVerify:
	default:
		return fmt.Errorf("sign: verifier %T cannot sign", v)
	}
	return nil
}
