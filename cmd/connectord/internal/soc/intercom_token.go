package soc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// tokenFieldTransport adapts Intercom's token response for oauth2: when a
// 2xx JSON answer carries "token" but no "access_token", it copies one into
// the other, so an answer with only "token" is a token and not an error.
type tokenFieldTransport struct{ base http.RoundTripper }

func (t tokenFieldTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		if _, ok := m["access_token"]; !ok && m["token"] != nil {
			m["access_token"] = m["token"]
			if b, err := json.Marshal(m); err == nil {
				body = b
				resp.Header.Set("Content-Type", "application/json")
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// intercomClient wraps client (nil: http.DefaultClient) with the adapter.
func intercomClient(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := *client
	c.Transport = tokenFieldTransport{base: base}
	return &c
}
