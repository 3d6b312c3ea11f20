package intake

import "math"

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

// boxString is s as an `any`: the shared box of an interned string, or a
// new one.
func boxString(s string) any {
	if len(s) <= maxInterned {
		if v, ok := interned[s]; ok {
			return v
		}
	}
	return s
}

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
