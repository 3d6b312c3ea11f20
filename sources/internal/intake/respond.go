package intake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Statuses of an accepted request, in the body's "status" field.
const (
	StatusStored    = "stored"
	StatusDuplicate = "duplicate"
	StatusIgnored   = "ignored"
	StatusPing      = "ping"
)

// reply is the body of a 200 answer.
type reply struct {
	Status string `json:"status"`
	Events int    `json:"events"`
	Reason string `json:"reason,omitempty"`
}

// errorReply is the body of every other answer.
type errorReply struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	writeReply(w, code, encodeReply(v))
}

// encoded is a reply body with its Content-Length.
type encoded struct {
	body   []byte
	length []string
}

func encodeReply(v any) encoded {
	body, _ := json.Marshal(v) // plain structs of strings and ints cannot fail
	body = append(body, '\n')
	return encoded{body: body, length: []string{strconv.Itoa(len(body))}}
}

var (
	contentTypeJSON = []string{"application/json"}
	// The answers to nearly every webhook, encoded once.
	replyStored    = encodeReply(reply{Status: StatusStored, Events: 1})
	replyDuplicate = encodeReply(reply{Status: StatusDuplicate})
)

// writeReply writes an encoded reply. The header names are canonical, so
// they are assigned without Set's canonicalisation; the value slices are
// shared, which net/http allows: it only reads them.
func writeReply(w http.ResponseWriter, code int, r encoded) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = r.length
	w.WriteHeader(code)
	_, _ = w.Write(r.body)
}

func writeOK(w http.ResponseWriter, status string, events int, reason string) {
	switch {
	case status == StatusStored && events == 1 && reason == "":
		writeReply(w, http.StatusOK, replyStored)
	case status == StatusDuplicate && events == 0 && reason == "":
		writeReply(w, http.StatusOK, replyDuplicate)
	default:
		writeJSON(w, http.StatusOK, reply{Status: status, Events: events, Reason: reason})
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorReply{Error: msg})
}

// writeUnavailable asks the sender to retry: the event was not stored.
func writeUnavailable(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	writeError(w, http.StatusServiceUnavailable, "event could not be stored; retry later")
}
