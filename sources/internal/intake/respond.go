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
	body, _ := json.Marshal(v) // plain structs of strings and ints cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func writeOK(w http.ResponseWriter, status string, events int, reason string) {
	writeJSON(w, http.StatusOK, reply{Status: status, Events: events, Reason: reason})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorReply{Error: msg})
}

// writeUnavailable asks the sender to retry: the event was not stored.
func writeUnavailable(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	writeError(w, http.StatusServiceUnavailable, "event could not be stored; retry later")
}
