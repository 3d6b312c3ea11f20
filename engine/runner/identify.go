package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/connectord/connectord/engine"
)

// marshal encodes v as compact JSON without HTML escaping, so the raw
// Intercom body ("<p>hello</p>") reaches receivers as Intercom sent it.
// Plain JSON values take appendJSON; anything else encoding/json.
func marshal(v any) ([]byte, error) {
	if b, err := appendJSON(make([]byte, 0, 2048), v); err == nil {
		return b, nil
	}
	return marshalReflect(v)
}

// marshalReflect is marshal by encoding/json.
func marshalReflect(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// identify derives a stored event's eventId and ordering key. A value in the
// SAP Open Connectors envelope names them itself (message.eventId and
// message.events[0].objectId); otherwise the source's ID and Key apply. The
// n-th extra output of a fan-out gets "-n" appended to a source-derived id so
// ids stay unique and stable. Without any id, the id is a hash of pipeline and
// body: the same content always gets the same id.
func identify(pipeline string, v any, body []byte, ev engine.Event, n int) (id, key string) {
	if m, ok := v.(map[string]any); ok {
		if msg, ok := m["message"].(map[string]any); ok {
			id = engine.IDString(msg["eventId"])
			if evs, ok := msg["events"].([]any); ok && len(evs) > 0 {
				if e0, ok := evs[0].(map[string]any); ok {
					key = engine.IDString(e0["objectId"])
				}
			}
		}
	}
	if id == "" && ev.ID != "" {
		id = ev.ID
		if n > 0 {
			id = fmt.Sprintf("%s-%d", id, n)
		}
	}
	if id == "" {
		h := sha256.New()
		h.Write([]byte(pipeline))
		h.Write([]byte{0})
		h.Write(body)
		id = hex.EncodeToString(h.Sum(nil)[:16])
	}
	if key == "" {
		key = ev.Key
	}
	return id, key
}
