package main

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
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const (
	clientSecret = "bench-intercom-client-secret"
	signatureKey = "bench-callback-signature-key"
)

var topics = []string{
	"conversation.user.created", "conversation.user.replied", "conversation.admin.replied",
	"conversation.admin.closed", "conversation.admin.assigned", "contact.user.created",
	"contact.lead.created", "company.updated", "conversation_part.tag.created", "conversation.deleted",
}

// notification builds the i-th unique notification, shaped like Intercom's.
func notification(i int) (id string, body []byte) {
	id = fmt.Sprintf("notif_bench_%08d", i)
	topic := topics[i%len(topics)]
	created := 1719492795 + int64(i)
	itemID := fmt.Sprintf("%d", 100000+i%5000)
	n := map[string]any{
		"type": "notification_event", "id": id, "topic": topic, "app_id": "bench1",
		"data": map[string]any{"type": "notification_event_data", "item": map[string]any{
			"type": "conversation", "id": itemID, "created_at": created - 60, "updated_at": created,
			"user":                 map[string]any{"type": "user", "id": fmt.Sprintf("5f%022d", i), "name": "Ada Lovelace", "email": fmt.Sprintf("ada%d@example.com", i)},
			"assignee":             map[string]any{"type": "admin", "id": "991267536"},
			"conversation_message": map[string]any{"type": "conversation_message", "id": fmt.Sprintf("%d", 4000000+i), "subject": "", "body": "<p>Hello, I have a question about my invoice.</p>", "attachments": []any{}},
			"conversation_parts":   map[string]any{"type": "conversation_part.list", "conversation_parts": []any{}},
			"open":                 true, "read": false, "tags": map[string]any{"type": "tag.list", "tags": []any{}},
		}},
		"delivery_status": nil, "delivery_attempts": 1, "delivered_at": 0,
		"first_sent_at": created, "created_at": created, "links": map[string]any{}, "self": nil,
	}
	body, _ = json.Marshal(n)
	return id, body
}

func medianBodySize(n int) int {
	_, b := notification(n / 2)
	return len(b)
}

func signIntercom(body []byte) string {
	m := hmac.New(sha1.New, []byte(clientSecret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// loadResult is what the generator saw.
type loadResult struct {
	start, end time.Time
	latencies  []time.Duration // of the answers that were 2xx
	answered   map[string]bool // notification ids answered 2xx
	failures   int             // attempts that were not 2xx (retried)
}

// generate posts n notifications with c workers. A failed attempt is
// retried (as Intercom does) until it is answered 2xx or ctx ends. onAnswer
// is called after each 2xx answer with the running count.
//
// With rate > 0 the i-th notification is not sent before start + i/rate.
func generate(ctx context.Context, url string, n, c int, rate float64, onAnswer func(int)) *loadResult {
	res := &loadResult{answered: make(map[string]bool, n)}
	var mu sync.Mutex
	var next, answered atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxIdleConns: c}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	res.start = time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, n/c+1)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				if rate > 0 {
					if wait := time.Until(res.start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
						time.Sleep(wait)
					}
				}
				id, body := notification(i)
				sig := signIntercom(body)
				for ctx.Err() == nil {
					t0 := time.Now()
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("User-Agent", "intercom-parrot-service-client/1.0")
					req.Header.Set("X-Hub-Signature", sig)
					resp, err := client.Do(req)
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err == nil && resp.StatusCode/100 == 2 {
						lat = append(lat, time.Since(t0))
						mu.Lock()
						res.answered[id] = true
						mu.Unlock()
						if onAnswer != nil {
							onAnswer(int(answered.Add(1)))
						}
						break
					}
					mu.Lock()
					res.failures++
					mu.Unlock()
					select { // back off briefly before Intercom-style retry
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.end = time.Now()
	return res
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
