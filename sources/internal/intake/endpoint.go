package intake

import (
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/ratelog"
)

// Verdict is what a source makes of a verified, decoded notification.
type Verdict struct {
	// Skip, when StatusPing or StatusIgnored, answers 200 and stores
	// nothing; Reason explains an ignored notification.
	Skip   string
	Reason string
	// Event is stored when Skip is empty. The Endpoint adds the captured
	// headers, the receive time and the id to its Meta, in place: Decide
	// makes a new Meta (or none) for every request.
	Event engine.Event
	// DedupeID, when set, stores the event at most once per dedupe window.
	DedupeID string
}

// Endpoint is the shared webhook request flow: GET and HEAD answer 200 (URL
// validation), POST reads, verifies, decodes, decides, stores, answers.
type Endpoint struct {
	Host    engine.Host
	MaxBody int64
	// Verify authenticates the raw body before anything parses it; an
	// error answers 401 with its message, which must not reveal the secret
	// or the expected signature.
	Verify func(h http.Header, body []byte, now time.Time) error
	// Decide turns the decoded body into a Verdict; an error answers 400.
	Decide func(h http.Header, body []byte, v any) (Verdict, error)
	// DropHeaders are left out of $meta.headers besides credentials.
	DropHeaders []string
	// Logger and Clock come from the source's BuildContext.
	Logger *slog.Logger
	Clock  engine.Clock

	failing atomic.Bool // an Emit failure is reported until the next success
	errLog  ratelog.Limiter
}

var _ http.Handler = (*Endpoint)(nil)

// RetryAfter is what a 503 asks the sender to wait.
const RetryAfter = 10 * time.Second

// ServeHTTP dispatches by method.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		// Intercom validates a subscription URL with HEAD.
		writeOK(w, "ok", 0, "")
	case http.MethodPost:
		e.post(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; webhooks are POSTed")
	}
}

func (e *Endpoint) post(w http.ResponseWriter, r *http.Request) {
	received := e.Clock.Now()
	body, err := ReadBody(w, r, e.MaxBody)
	switch {
	case errors.Is(err, ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := e.Verify(r.Header, body, received); err != nil {
		e.Logger.Debug("webhook rejected", "reason", err, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	v, err := DecodeJSON(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	verdict, err := e.Decide(r.Header, body, v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if verdict.Skip != "" {
		writeOK(w, verdict.Skip, 0, verdict.Reason)
		return
	}
	ev := e.complete(verdict.Event, r.Header, received)
	err = EmitOnce(r.Context(), e.Host, ev, verdict.DedupeID, received)
	switch {
	case err == nil:
		if e.failing.CompareAndSwap(true, false) {
			e.Host.ReportError(nil)
		}
		writeOK(w, StatusStored, 1, "")
	case errors.Is(err, engine.ErrDuplicate):
		writeOK(w, StatusDuplicate, 0, "")
	case r.Context().Err() != nil:
		// The sender hung up; whatever we answer is not read, and it will
		// retry (the event may or may not be stored: at least once).
		writeUnavailable(w, RetryAfter)
	case errors.Is(err, engine.ErrQueueFull):
		e.failing.Store(true)
		e.Host.ReportError(err)
		e.errLog.Log(e.Logger, slog.LevelWarn, "queue full: webhook refused; asked the sender to retry", "error", err)
		writeUnavailable(w, RetryAfter)
	default:
		e.failing.Store(true)
		e.Host.ReportError(err)
		e.errLog.Log(e.Logger, slog.LevelError, "webhook not stored; asked the sender to retry", "error", err)
		writeUnavailable(w, RetryAfter)
	}
}

// complete adds what every webhook event carries to its Meta.
func (e *Endpoint) complete(ev engine.Event, h http.Header, received time.Time) engine.Event {
	meta := ev.Meta
	if meta == nil {
		// Room for these three and the host's two: one map group.
		meta = make(engine.Meta, 8)
	}
	meta[engine.MetaHeaders] = CaptureHeaders(h, e.DropHeaders...)
	meta[engine.MetaReceived] = received.UTC().Format(time.RFC3339Nano)
	if _, set := meta[engine.MetaID]; !set && ev.ID != "" {
		meta[engine.MetaID] = ev.ID
	}
	ev.Meta = meta
	return ev
}
