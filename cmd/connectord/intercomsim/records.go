package intercomsim

import (
	"fmt"
	"math/rand/v2"
)

// Kind is a resource of the workspace.
type Kind string

// The resources the simulator serves.
const (
	Conversations Kind = "conversations"
	Contacts      Kind = "contacts"
	Companies     Kind = "companies"
	Tickets       Kind = "tickets"
	Articles      Kind = "articles"
)

// kinds are the resources served; each is a polled resource of the
// sources/intercom table, served at that table's path in its mode.
var kinds = []Kind{Conversations, Contacts, Companies, Tickets, Articles}

var firstNames = []string{"Ada", "Grace", "Alan", "Ciaran", "Joe", "Mia", "Noor", "Ravi", "Sofia", "Yuki"}
var lastNames = []string{"Lee", "Bloggs", "Hopper", "Turing", "Okafor", "Silva", "Novak", "Kim"}

// newBody returns a record body shaped like Intercom's 2.14 examples (see
// /work/shared/fixtures/intercom), without created_at/updated_at, which the
// workspace sets.
func newBody(k Kind, id string, seq int, rng *rand.Rand) map[string]any {
	switch k {
	case Conversations:
		return conversationBody(id, seq, rng)
	case Contacts:
		return contactBody(id, seq, rng)
	case Tickets:
		return ticketBody(id, seq, rng)
	case Articles:
		return articleBody(id, seq, rng)
	default:
		return companyBody(id, seq, rng)
	}
}

func personName(rng *rand.Rand) (name, email string) {
	f, l := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
	return f + " " + l, fmt.Sprintf("%s.%s%d@example.com", f, l, rng.IntN(1000))
}

func conversationBody(id string, seq int, rng *rand.Rand) map[string]any {
	admin, email := personName(rng)
	return map[string]any{
		"type": "conversation", "id": id,
		"waiting_since": nil, "snoozed_until": nil,
		"source": map[string]any{
			"type": "conversation", "id": fmt.Sprint(403918000 + seq), "delivered_as": "admin_initiated",
			"subject": "", "body": "<p>this is the message body</p>",
			"author":      map[string]any{"type": "admin", "id": fmt.Sprint(991267000 + rng.IntN(900)), "name": admin, "email": email},
			"attachments": []any{}, "url": nil, "redacted": false,
		},
		"contacts": map[string]any{"type": "contact.list", "contacts": []any{
			map[string]any{"type": "contact", "id": hexID(rng), "external_id": fmt.Sprint(rng.IntN(100))},
		}},
		"first_contact_reply": nil, "admin_assignee_id": 991267715, "team_assignee_id": 5017691,
		"open": false, "state": "closed", "read": false,
		"tags":     map[string]any{"type": "tag.list", "tags": []any{}},
		"priority": "not_priority", "sla_applied": nil, "statistics": nil, "conversation_rating": nil,
		"teammates": nil, "title": nil, "custom_attributes": map[string]any{}, "topics": map[string]any{},
		"ticket":         nil,
		"linked_objects": map[string]any{"type": "list", "data": []any{}, "total_count": 0, "has_more": false},
		"ai_agent":       nil, "ai_agent_participated": false,
	}
}

func contactBody(id string, seq int, rng *rand.Rand) map[string]any {
	name, email := personName(rng)
	sub := func(what string) map[string]any {
		return map[string]any{"type": "list", "data": []any{}, "url": "/contacts/" + id + "/" + what, "total_count": 0, "has_more": false}
	}
	return map[string]any{
		"type": "contact", "id": id, "workspace_id": "ecahpwf5", "external_id": fmt.Sprint(seq),
		"role": "user", "email": email, "phone": nil, "name": name, "avatar": nil, "owner_id": nil,
		"social_profiles":  map[string]any{"type": "list", "data": []any{}},
		"has_hard_bounced": false, "marked_email_as_spam": false, "unsubscribed_from_emails": false,
		"signed_up_at": nil, "last_seen_at": nil, "last_replied_at": nil, "last_contacted_at": nil,
		"language_override": nil, "browser": nil, "os": nil,
		"location": map[string]any{"type": "location", "country": nil, "region": nil, "city": nil,
			"country_code": nil, "continent_code": nil},
		"custom_attributes": map[string]any{},
		"tags":              sub("tags"), "notes": sub("notes"), "companies": sub("companies"),
		"utm_campaign": nil, "utm_source": nil,
	}
}

func companyBody(id string, seq int, rng *rand.Rand) map[string]any {
	return map[string]any{
		"type": "company", "company_id": fmt.Sprintf("remote_company_%d", seq), "id": id,
		"app_id": "ecahpwf5", "name": fmt.Sprintf("%s Corp %d", lastNames[rng.IntN(len(lastNames))], seq),
		"monthly_spend": 0, "session_count": 0, "user_count": rng.IntN(50),
		"tags":     map[string]any{"type": "tag.list", "tags": []any{}},
		"segments": map[string]any{"type": "segment.list", "segments": []any{}},
		"plan":     map[string]any{}, "custom_attributes": map[string]any{},
	}
}

// ticketBody is shaped like the 2.14 ticket schema's example.
func ticketBody(id string, seq int, rng *rand.Rand) map[string]any {
	states := []string{"submitted", "in_progress", "waiting_on_customer", "resolved"}
	return map[string]any{
		"type": "ticket", "id": id, "ticket_id": fmt.Sprint(seq), "category": "Customer",
		"ticket_attributes": map[string]any{"_default_title_": fmt.Sprintf("Ticket %d", seq), "_default_description_": "the printer is on fire"},
		"ticket_state":      map[string]any{"type": "ticket_state", "id": fmt.Sprint(8000 + rng.IntN(4)), "category": states[rng.IntN(len(states))]},
		"ticket_type":       map[string]any{"type": "ticket_type", "id": "1234", "name": "Bug Report"},
		"contacts":          map[string]any{"type": "contact.list", "contacts": []any{map[string]any{"type": "contact", "id": hexID(rng)}}},
		"admin_assignee_id": "0", "team_assignee_id": "0", "open": true, "snoozed_until": nil,
		"linked_objects": map[string]any{"type": "list", "data": []any{}, "total_count": 0, "has_more": false},
		"category_id":    nil, "is_shared": true,
	}
}

// articleBody is shaped like the 2.14 article schema's example.
func articleBody(id string, seq int, rng *rand.Rand) map[string]any {
	return map[string]any{
		"type": "article", "id": id, "workspace_id": "ecahpwf5", "title": fmt.Sprintf("How to %d", seq),
		"description": "", "body": "<p>Step one.</p>", "author_id": 991267000 + rng.IntN(900),
		"state": "published", "parent_id": nil, "parent_type": nil, "default_locale": "en",
		"url": fmt.Sprintf("https://help.example.com/articles/%s", id), "parent_ids": []any{},
	}
}

// hexID is a 24-hex-digit id like Intercom's contact and company ids.
func hexID(rng *rand.Rand) string {
	return fmt.Sprintf("%08x%016x", rng.Uint32(), rng.Uint64())
}

// touch changes a record the way an update in Intercom would, so an update
// is visible in the body and not only in updated_at.
func touch(k Kind, body map[string]any, rng *rand.Rand) {
	switch k {
	case Conversations:
		states := []string{"open", "closed", "snoozed"}
		s := states[rng.IntN(len(states))]
		body["state"], body["open"] = s, s == "open"
		body["read"] = rng.IntN(2) == 0
	case Contacts:
		name, _ := personName(rng)
		body["name"] = name
	case Tickets:
		body["open"] = rng.IntN(2) == 0
	case Articles:
		body["body"] = fmt.Sprintf("<p>Step %d.</p>", rng.IntN(100))
	default:
		body["user_count"] = rng.IntN(50)
	}
}
