package intercompoller

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/connectord/connectord/engine"
)

// Event types the poller sets in $meta.eventType.
const (
	typeCreated = "CREATED"
	typeUpdated = "UPDATED"
)

// eventID is a change's stable id: the same record version always gets the
// same id, in any poll, after any restart.
func eventID(pipeline, resource, id string, updated time.Time) string {
	h := sha256.New()
	for _, part := range []string{pipeline, resource, id, updated.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// event builds the engine event for a change whose record is value.
func (s *Source) event(c change, value map[string]any) engine.Event {
	id := eventID(s.pipeline, s.cfg.resource, c.id, c.updated)
	typ := typeUpdated
	if c.hasCreated {
		if d := c.updated.Sub(c.created); d >= -s.cfg.tolerance && d <= s.cfg.tolerance {
			typ = typeCreated
		}
	}
	var v any = value
	if s.cfg.filterNulls {
		v = dropNulls(value)
	}
	return engine.Event{
		Value: v,
		ID:    id,
		Key:   c.id,
		Meta: engine.Meta{
			engine.MetaResource: s.cfg.resource,
			engine.MetaObjectID: c.id,
			engine.MetaType:     typ,
			engine.MetaDate:     c.updated.UTC().Format(time.RFC3339Nano),
			engine.MetaID:       id,
		},
	}
}
