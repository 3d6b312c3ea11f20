# intercom: connectord's shipped jq module for Intercom.
#
# It turns Intercom webhook notifications and polled Intercom records into the
# SAP Open Connectors callback envelope
#   {"message": {"eventId", "elementKey", "instanceName", "events": [...], "raw"}}
# Use it with `include "intercom";` or `import "intercom" as ic;` (then
# `ic::webhook_event`). Functions read the event's metadata from $meta, which
# connectord always binds.

# _unix_seconds: a Unix time in seconds (number or numeric string), floored;
# null when the input is not a positive time (Intercom writes 0 for "never").
def _unix_seconds:
  if type == "number" then (if . > 0 then floor else null end)
  elif type == "string" then
    (try tonumber catch null) | (if type == "number" and . > 0 then floor else null end)
  else null end;

# _id_string: an id as a string; Intercom ids are numbers in some models and
# strings in others, receivers always get a string.
def _id_string: if type == "string" or . == null then . else tostring end;

# _object_types: Intercom topic prefix -> SAP Open Connectors objectType.
# conversation_part topics are about their conversation.
def _object_types: {
  "conversation": "conversations",
  "conversation_part": "conversations",
  "contact": "contacts",
  "company": "companies",
  "user": "users",
  "visitor": "visitors",
  "ticket": "tickets",
  "article": "articles",
  "admin": "admins",
  "event": "events",
  "subscription": "subscriptions"
};

# _sub_object: whether a topic segment names a thing attached to the object
# ("contact.tag.deleted" removes a tag from a contact). Created or deleted
# there means the object itself was updated, not created or deleted.
def _sub_object: . == "tag" or . == "note";

# iso8601: a Unix time in seconds (number or numeric string) as RFC 3339 UTC,
# "2014-09-10T07:48:13Z"; null when the input is not a positive Unix time.
def iso8601: _unix_seconds | if . == null then null else todate end;
def iso8601($unix): $unix | iso8601;

# _object_type($s) and _event_type($s) work on a topic split at its dots,
# so webhook_event splits it once.
def _object_type($s): _object_types[$s[0]] // ($s[0] + "s");
def _event_type($s):
  ($s | length) as $n
  | if $n > 2 and ($s[$n - 2] | _sub_object) then "UPDATED"
    elif $n > 1 and $s[$n - 1] == "created" then "CREATED"
    elif $n > 1 and $s[$n - 1] == "deleted" then "DELETED"
    elif _object_types | has($s[0]) then "UPDATED"
    else "UNKNOWN" end;

# object_type: the objectType for a topic (input): the mapped topic prefix,
# or prefix + "s" for prefixes Intercom may add later.
def object_type: _object_type(split("."));
def object_type($topic): $topic | object_type;

# event_type: the eventType for a topic (input): CREATED for "*.created",
# DELETED for "*.deleted", UPDATED for other topics of known objects, UNKNOWN
# for anything else. A created or deleted tag or note ("contact.tag.created")
# is an UPDATE of the object it is attached to.
def event_type: _event_type(split("."));
def event_type($topic): $topic | event_type;

# drop_nulls: removes object keys whose value is null, at every depth, like
# SAP Open Connectors' filter.response.nulls. Arrays keep all their elements
# (nulls too); objects inside them are cleaned.
def drop_nulls:
  if type == "object" then
    with_entries(select(.value != null) | .value |= drop_nulls)
  elif type == "array" then map(drop_nulls)
  else . end;

# webhook_event: an Intercom webhook notification (input) as one SAP Open
# Connectors envelope, its raw being the notification as received. eventId is
# $meta.id if set, else the notification id. objectId is data.item.id as a
# string (items without an id, such as contact_tag, use the id of the object
# they name; null if there is none). eventDate is the notification's created_at, else the item's
# updated_at, else $meta.received. A "ping" produces nothing.
#
# connectord runs the common case (what Intercom sends) as Go code,
# _webhook_event_fast, which gives null for anything unusual; then the
# definition below, _webhook_event, runs. The two are tested to agree.
def _webhook_event:
  if (.topic | type) != "string" then
    error("webhook_event: input is not an Intercom notification (no string .topic)")
  elif .topic == "ping" then empty
  else
    (.topic | split(".")) as $s
    | (.data.item // {}) as $item
    | {"message": {
        "eventId": (if $meta.id == null or $meta.id == "" then .id else $meta.id end),
        "elementKey": "intercom",
        "instanceName": $meta.pipeline,
        "events": [{
          "elementKey": "intercom",
          "objectType": _object_type($s),
          "objectId": (if $item.id != null then $item.id
                       else $item[$s[0]] | if type == "object" then .id else null end end | _id_string),
          "eventType": _event_type($s),
          "eventDate": ((.created_at | iso8601) // ($item.updated_at | iso8601) // $meta.received)
        }],
        "raw": .
      }}
  end;
def webhook_event: _webhook_event_fast($meta) // _webhook_event;

# poll_event: a record found by the intercom_poller (input) as one SAP Open
# Connectors envelope. The poller supplies $meta.resource, objectId,
# eventType, eventDate and id; raw has the polling shape SAP Open Connectors
# uses, {"objectType": resource, <resource>: [record]}.
def poll_event:
  if ($meta.resource | type) != "string" then
    error("poll_event: $meta.resource is not set (poll_event is for intercom_poller events)")
  else
    $meta.resource as $resource
    | {"message": {
        "eventId": $meta.id,
        "elementKey": "intercom",
        "instanceName": $meta.pipeline,
        "events": [{
          "elementKey": "intercom",
          "objectType": $resource,
          "objectId": ($meta.objectId | _id_string),
          "eventType": $meta.eventType,
          "eventDate": $meta.eventDate
        }],
        "raw": {"objectType": $resource, ($resource): [.]}
      }}
  end;
