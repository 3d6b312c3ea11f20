package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// relayMain is the bare relay baseline: verify the Intercom signature,
// decode, build the SAP Open Connectors envelope by hand, sign it and
// forward it synchronously, answering Intercom only after the receiver did.
// No store, no queue: the least work a correct relay can do.
func relayMain(args []string) int {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	callback := fs.String("callback", "", "receiver URL")
	ready := fs.String("ready-file", "", "write the bound address here when listening")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}, Timeout: 10 * time.Second}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
			writeMemStats(w)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		m := hmac.New(sha1.New, []byte(clientSecret))
		m.Write(body)
		if !hmac.Equal([]byte("sha1="+hex.EncodeToString(m.Sum(nil))), []byte(r.Header.Get("X-Hub-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var n map[string]any
		if err := json.Unmarshal(body, &n); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		topic, _ := n["topic"].(string)
		id, _ := n["id"].(string)
		item, _ := n["data"].(map[string]any)["item"].(map[string]any)
		eventType := "UPDATED"
		switch {
		case strings.HasSuffix(topic, ".created"):
			eventType = "CREATED"
		case strings.HasSuffix(topic, ".deleted"):
			eventType = "DELETED"
		}
		created, _ := n["created_at"].(float64)
		env := map[string]any{"message": map[string]any{
			"eventId": id, "elementKey": "intercom", "instanceName": "bench",
			"events": []any{map[string]any{
				"elementKey": "intercom", "objectType": strings.SplitN(topic, ".", 2)[0] + "s",
				"objectId": fmt.Sprint(item["id"]), "eventType": eventType,
				"eventDate": time.Unix(int64(created), 0).UTC().Format(time.RFC3339),
			}},
			"raw": n,
		}}
		out, _ := json.Marshal(env)
		s := hmac.New(sha256.New, []byte(signatureKey))
		s.Write(out)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, *callback, bytes.NewReader(out))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Elements-Webhook-Id", id)
		req.Header.Set("Elements-Webhook-Signature", "sha256="+base64.StdEncoding.EncodeToString(s.Sum(nil)))
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, "forward failed", http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			http.Error(w, "receiver failed", http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	if err := os.WriteFile(*ready, []byte(ln.Addr().String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	http.Serve(ln, h)
	return 0
}

// writeMemStats answers the bench's usage scrape with the two counters
// connectord's /metrics has under the same names (the Prometheus Go
// collector's), so both processes are measured alike.
func writeMemStats(w http.ResponseWriter) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(w, "go_memstats_mallocs_total %d\ngo_memstats_alloc_bytes_total %d\n", m.Mallocs, m.TotalAlloc)
}
