package engine

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event is one record travelling through a pipeline before it is stored.
//
// Sources fill Value (any JSON-compatible Go value: map[string]any, []any,
// string, float64, json.Number, bool, nil) and the Meta they know. Transforms
// replace Value; the engine then derives the stored event's id and ordering
// key (see Identify) and marshals Value to the exact bytes the sink will send.
type Event struct {
	// Value is the payload, decoded JSON.
	Value any
	// ID is the source's stable identity for this change (an Intercom
	// notification id, or pipeline+object+updated time for a poll). It is the
	// fallback eventId when the transformed value carries none.
	ID string
	// Key orders delivery: events with the same key are delivered in the
	// order they were stored. Usually the object id.
	Key string
	// Meta is exposed to transforms as $meta (jq) and meta (expr).
	Meta Meta
	// Plain says Value holds only nil, bool, int, finite float64,
	// *big.Int, string, []any and map[string]any (no json.Number, no
	// other Go type): what gojq and expr take as they are, so transforms
	// skip the walk that would convert it. A value straight from
	// encoding/json (without UseNumber) is plain. False is always safe.
	Plain bool
}

// Meta describes where an event came from. Keys are stable and documented in
// the README; sources may add their own (the poller adds "resource" and
// "eventType", the webhook source adds "headers").
type Meta map[string]any

// Standard Meta keys set by the engine for every event.
const (
	MetaPipeline = "pipeline"  // pipeline name
	MetaSource   = "source"    // source kind, e.g. "intercom_webhook"
	MetaReceived = "received"  // RFC 3339 time the source received the event
	MetaHeaders  = "headers"   // webhook request headers, lower-case names
	MetaResource = "resource"  // poller resource (the objectType)
	MetaType     = "eventType" // poller-computed CREATED or UPDATED
	MetaID       = "id"        // the source's stable event id (Event.ID)
	MetaObjectID = "objectId"  // poller: the record's id (idField)
	MetaDate     = "eventDate" // poller: the record's change time, RFC 3339 UTC
)

// Clock is the time source components use, so tests can fix it.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// IDString renders a JSON id — a string, or a number as decoded JSON gives
// it — the one way every component does: a string as it is, a number in its
// shortest exact decimal form (1.5 → "1.5", 1e21 → "1000000000000000000000").
// Other values (objects, arrays, booleans, null) have no id: "".
func IDString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		return ""
	}
}
