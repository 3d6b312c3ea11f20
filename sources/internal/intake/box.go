package intake

import (
	"math"
	"unsafe"
)

// Putting a string or a float64 in an `any` allocates, and a decoded
// notification is mostly such values: one allocation each was a fifth of
// a webhook's. The values Intercom repeats in every notification are
// boxed once, here, and shared: an `any` holding a string or a number is
// immutable, so sharing one cannot change what another event holds.

// emptyArray is every decoded []: with no element and no capacity it
// cannot be written through, only appended to, which copies.
var emptyArray any = []any{}

// maxInterned is the longest string looked up in interned: longer ones
// are ids, names and texts, never in it, and are not hashed for nothing.
const maxInterned = 32

// interned are the boxed forms of the strings Intercom sends in most
// notifications: object types and the values of enumerations.
var interned = func() map[string]any {
	m := map[string]any{}
	for _, s := range []string{
		// The "type" of objects and lists.
		"notification_event", "notification_event_data", "conversation", "conversation.list",
		"conversation_message", "conversation_part", "conversation_part.list", "contact",
		"contact.list", "company", "company.list", "user", "lead", "admin", "bot", "team",
		"nobody_admin", "tag", "tag.list", "note", "segment", "segment.list", "ticket",
		"ticket_type", "ticket_part", "ticket_part.list", "article", "visitor", "event", "list",
		"source", "attachment", "location", "avatar", "social_profile.list",
		"subscription_type.list", "note.list", "conversation_rating", "statistics",
		"linked_object.list", "custom_attributes", "push", "email", "chat", "ticket_state",
		// Enumerations.
		"open", "closed", "snoozed", "pending", "priority", "not_priority", "customer_initiated",
		"admin_initiated", "operator_initiated", "campaigns_initiated", "automated", "comment",
		"assignment", "close", "snoozed_until", "submitted", "in_progress", "waiting_on_customer",
		"resolved", "unassigned", "role", "default_assignment", "none",
	} {
		m[s] = s
	}
	return m
}()

// internedBox is the shared box of s if s is interned.
func internedBox(s string) (any, bool) {
	if len(s) > maxInterned {
		return nil, false
	}
	v, ok := interned[s]
	return v, ok
}

// The strings left (ids, names, emails, texts, times) are still about ten
// per notification, and any(s) allocates a 16-byte string header for each.
// boxes gives them headers from slabs instead: one allocation per
// stringSlab strings. An `any` made from a slot points into its slab and
// keeps it alive, as long as the decoded value lives: the life of one
// event. A slot is written once, before its `any` exists, and never again
// (a decoder starts a new slab for every body), so the `any` is as
// immutable as one the runtime boxed.
type boxes struct {
	strs []string
}

const stringSlab = 16

// str is s as an `any`: the shared box of an interned string, or one
// from a slab.
func (b *boxes) str(s string) any {
	if v, ok := internedBox(s); ok {
		return v
	}
	if s == "" {
		return s // the runtime boxes "" without allocating
	}
	if len(b.strs) == cap(b.strs) {
		b.strs = make([]string, 0, stringSlab)
	}
	b.strs = append(b.strs, s)
	return stringAt(&b.strs[len(b.strs)-1])
}

// stringAt is the `any` that any(*p) makes, pointing at *p where the
// runtime would point at a fresh copy of it: an empty interface is a type
// word and a pointer to the value (runtime.eface), and for a string the
// pointer is to its header.
func stringAt(p *string) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = stringType, unsafe.Pointer(p)
	return v
}

type eface struct {
	typ, data unsafe.Pointer
}

// stringType is the type word of a string in an `any`.
var stringType = func() unsafe.Pointer {
	var v any = "x"
	return (*eface)(unsafe.Pointer(&v)).typ
}()

// smallNumbers are the boxed whole numbers 0 to 255: counts, attempts,
// flags and the zero times Intercom sends for "never".
var smallNumbers = func() (a [256]any) {
	for i := range a {
		a[i] = float64(i)
	}
	return a
}()

// boxNumber is f as an `any`, from smallNumbers when it is one of them
// (not -0, which encodes differently).
func boxNumber(f float64) any {
	if f >= 0 && f < float64(len(smallNumbers)) && f == math.Trunc(f) && !math.Signbit(f) {
		return smallNumbers[int(f)]
	}
	return f
}
