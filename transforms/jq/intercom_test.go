package jq_test

import (
	"strings"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/transforms/jq"
)

func TestModuleCompiles(t *testing.T) {
	for _, program := range []string{
		`include "intercom"; .`,
		`import "intercom" as ic; ic::webhook_event`,
		`include "intercom"; poll_event, drop_nulls, iso8601, object_type, event_type`,
	} {
		build(t, program)
	}
	if !strings.Contains(jq.Module(), "def webhook_event:") {
		t.Errorf("Module() does not return the module source")
	}
}

// notification is an Intercom webhook body with the given topic, ids and
// times written as JSON fragments.
func notification(topic, itemID, createdAt, itemUpdatedAt string) string {
	return `{"type":"notification_event","id":"notif_1","topic":"` + topic + `","app_id":"a",` +
		`"data":{"type":"notification_event_data","item":{"type":"x","id":` + itemID +
		`,"updated_at":` + itemUpdatedAt + `}},"created_at":` + createdAt + `}`
}

func envelope(eventID, objectType, objectID, eventType, eventDate, raw string) string {
	return `[{"message":{"eventId":"` + eventID + `","elementKey":"intercom","instanceName":"hooks",` +
		`"events":[{"elementKey":"intercom","objectType":"` + objectType + `","objectId":` + objectID +
		`,"eventType":"` + eventType + `","eventDate":"` + eventDate + `"}],"raw":` + raw + `}}]`
}

func TestWebhookEvent(t *testing.T) {
	const date = "2014-09-10T07:48:13Z" // 1410335293
	tests := []struct {
		name, topic, objectType, eventType string
	}{
		{"created", "conversation.user.created", "conversations", "CREATED"},
		{"admin created", "conversation.admin.single.created", "conversations", "CREATED"},
		{"contact created", "contact.user.created", "contacts", "CREATED"},
		{"deleted", "conversation.deleted", "conversations", "DELETED"},
		{"company deleted", "company.deleted", "companies", "DELETED"},
		{"updated", "conversation.admin.replied", "conversations", "UPDATED"},
		{"part", "conversation_part.redacted", "conversations", "UPDATED"},
		{"contact", "contact.email.updated", "contacts", "UPDATED"},
		{"company", "company.contact.attached", "companies", "UPDATED"},
		{"user", "user.unsubscribed", "users", "UPDATED"},
		{"visitor", "visitor.signed_up", "visitors", "UPDATED"},
		{"ticket", "ticket.state.updated", "tickets", "UPDATED"},
		{"admin", "admin.away_mode_updated", "admins", "UPDATED"},
		{"tag added", "contact.tag.created", "contacts", "UPDATED"},
		{"tag removed", "contact.tag.deleted", "contacts", "UPDATED"},
		{"part tagged", "conversation_part.tag.created", "conversations", "UPDATED"},
		{"ticket note", "ticket.note.created", "tickets", "UPDATED"},
		{"article created", "article.created", "articles", "CREATED"},
		{"article updated", "article.updated", "articles", "UPDATED"},
		{"article published", "article.published", "articles", "UPDATED"},
		{"article deleted", "article.deleted", "articles", "DELETED"},
		{"unknown", "content_stat.click", "content_stats", "UNKNOWN"},
		{"unknown created", "job.created", "jobs", "CREATED"},
		{"bare", "weird", "weirds", "UNKNOWN"},
	}
	tr := build(t, `include "intercom"; webhook_event`)
	meta := engine.Meta{"pipeline": "hooks"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := notification(tt.topic, `"42"`, "1410335293", "null")
			got := run(t, tr, decode(t, in), meta)
			want := canonical(t, envelope("notif_1", tt.objectType, `"42"`, tt.eventType, date, in))
			if got != want {
				t.Errorf("topic %s:\n got %s\nwant %s", tt.topic, got, want)
			}
		})
	}
}

func TestWebhookEventPingIsDropped(t *testing.T) {
	tr := build(t, `include "intercom"; webhook_event`)
	in := `{"type":"notification_event","id":"notif_p","topic":"ping","data":{"item":{"type":"ping","message":"hi"}}}`
	if got := run(t, tr, decode(t, in), nil); got != "[]" {
		t.Errorf("ping: got %s, want no output", got)
	}
}

func TestWebhookEventIDsAndDates(t *testing.T) {
	tests := []struct {
		name                          string
		itemID, createdAt, itemUpdate string
		meta                          engine.Meta
		wantEventID, wantID, wantDate string
	}{
		{"string id, number time", `"123456789"`, "1410335293", "null", nil,
			"notif_1", `"123456789"`, "2014-09-10T07:48:13Z"},
		{"number id, string time", `335`, `"1719492795"`, "null", nil,
			"notif_1", `"335"`, "2024-06-27T12:53:15Z"},
		{"id beyond float64 precision stays exact", `9007199254740993`, "1719492795", "null", nil,
			"notif_1", `"9007199254740993"`, "2024-06-27T12:53:15Z"},
		{"fractional time floors", `"1"`, "1719492795.9", "null", nil,
			"notif_1", `"1"`, "2024-06-27T12:53:15Z"},
		{"no created_at: item updated_at", `"1"`, "null", "1410335293", nil,
			"notif_1", `"1"`, "2014-09-10T07:48:13Z"},
		{"zero created_at: item updated_at as string", `"1"`, "0", `"1410335293"`, nil,
			"notif_1", `"1"`, "2014-09-10T07:48:13Z"},
		{"no times: received", `"1"`, `""`, `"soon"`, engine.Meta{"received": "2025-01-02T03:04:05Z"},
			"notif_1", `"1"`, "2025-01-02T03:04:05Z"},
		{"meta id wins", `"1"`, "1410335293", "null", engine.Meta{"id": "hook:notif_1"},
			"hook:notif_1", `"1"`, "2014-09-10T07:48:13Z"},
		{"empty meta id is unset", `"1"`, "1410335293", "null", engine.Meta{"id": ""},
			"notif_1", `"1"`, "2014-09-10T07:48:13Z"},
	}
	tr := build(t, `include "intercom"; webhook_event`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := engine.Meta{"pipeline": "hooks"}
			for k, v := range tt.meta {
				meta[k] = v
			}
			in := notification("contact.created", tt.itemID, tt.createdAt, tt.itemUpdate)
			got := run(t, tr, decode(t, in), meta)
			want := canonical(t, envelope(tt.wantEventID, "contacts", tt.wantID, "CREATED", tt.wantDate, in))
			if got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestWebhookEventItemWithoutID(t *testing.T) {
	// contact.tag.* items are contact_tag objects naming the contact.
	in := `{"id":"notif_t","topic":"contact.tag.created","created_at":1410335293,` +
		`"data":{"item":{"type":"contact_tag","tag":{"id":"7"},"contact":{"type":"contact","id":"c9"}}}}`
	tr := build(t, `include "intercom"; webhook_event | .message.events[0].objectId`)
	if got := run(t, tr, decode(t, in), nil); got != `["c9"]` {
		t.Errorf("objectId: got %s, want [\"c9\"]", got)
	}
}

func TestWebhookEventWithoutAnyIDStillEmits(t *testing.T) {
	in := `{"id":"notif_j","topic":"job.completed","created_at":1410335293,"data":{"item":{"type":"job"}}}`
	tr := build(t, `include "intercom"; webhook_event | .message.events[0] | [.objectType, .objectId, .eventType]`)
	if got := run(t, tr, decode(t, in), nil); got != `[["jobs",null,"UNKNOWN"]]` {
		t.Errorf("got %s", got)
	}
}

func TestWebhookEventRejectsNonNotification(t *testing.T) {
	tr := build(t, `include "intercom"; webhook_event`)
	_, err := tr.Apply(t.Context(), engine.Event{Value: decode(t, `{"id":"x"}`)})
	if err == nil || !strings.Contains(err.Error(), "not an Intercom notification") {
		t.Errorf("got %v, want a not-an-Intercom-notification error", err)
	}
}

func TestPollEvent(t *testing.T) {
	tr := build(t, `include "intercom"; poll_event`)
	meta := engine.Meta{
		"pipeline": "convs", "resource": "conversations", "objectId": 335,
		"eventType": "UPDATED", "eventDate": "2024-06-27T12:53:15Z", "id": "convs:335:1719492795",
	}
	in := `{"type":"conversation","id":"335","updated_at":1719492795,"title":null}`
	got := run(t, tr, decode(t, in), meta)
	want := canonical(t, `[{"message":{"eventId":"convs:335:1719492795","elementKey":"intercom","instanceName":"convs",`+
		`"events":[{"elementKey":"intercom","objectType":"conversations","objectId":"335","eventType":"UPDATED","eventDate":"2024-06-27T12:53:15Z"}],`+
		`"raw":{"objectType":"conversations","conversations":[`+in+`]}}}]`)
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}

	_, err := tr.Apply(t.Context(), engine.Event{Value: decode(t, in), Meta: engine.Meta{"pipeline": "p"}})
	if err == nil || !strings.Contains(err.Error(), "$meta.resource is not set") {
		t.Errorf("without resource: got %v, want a $meta.resource error", err)
	}
}

func TestDropNulls(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":null,"b":1}`, `{"b":1}`},
		{`{"a":{"b":null,"c":{"d":null}},"e":false,"f":0,"g":""}`, `{"a":{"c":{}},"e":false,"f":0,"g":""}`},
		{`[null,{"a":null,"b":[null,{"c":null}]},3]`, `[null,{"b":[null,{}]},3]`},
		{`null`, `null`},
		{`"s"`, `"s"`},
	}
	tr := build(t, `include "intercom"; drop_nulls`)
	for _, tt := range tests {
		if got, want := run(t, tr, decode(t, tt.in), nil), canonical(t, "["+tt.want+"]"); got != want {
			t.Errorf("drop_nulls %s: got %s, want %s", tt.in, got, want)
		}
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct{ program, want string }{
		{`iso8601(1410335293)`, `"2014-09-10T07:48:13Z"`},
		{`iso8601("1410335293")`, `"2014-09-10T07:48:13Z"`},
		{`iso8601(0), iso8601(null), iso8601("x")`, `null,null,null`},
		{`object_type("company.updated"), object_type("conversation_part.tag.created")`, `"companies","conversations"`},
		{`event_type("contact.deleted"), event_type("ping"), event_type("user.tag.deleted")`, `"DELETED","UNKNOWN","UPDATED"`},
		{`"ticket.created" | event_type, object_type`, `"CREATED","tickets"`},
	}
	for _, tt := range tests {
		tr := build(t, `include "intercom"; `+tt.program)
		if got, want := run(t, tr, nil, nil), canonical(t, "["+tt.want+"]"); got != want {
			t.Errorf("%s: got %s, want %s", tt.program, got, want)
		}
	}
}
