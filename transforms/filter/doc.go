// Package filter provides the filter transform: an expr-lang boolean
// expression over the event that keeps it (true) or drops it (false):
//
//	transforms:
//	  - filter: 'all(event.message.events, .eventType != "DELETED")'
//
// The expression sees `event`, the value so far, and `meta`, the event's
// metadata. Numbers compare as numbers even when the source kept them as
// json.Number, and a missing field (nil) counts as false, as expr casts it. It is compiled and type-checked once when the pipeline is built;
// a syntax error or an expression that can never be boolean points at its
// place in the pipeline file. The package registers the transform from init;
// the binary imports it for that side effect.
package filter
