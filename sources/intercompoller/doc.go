// Package intercompoller is the intercom_poller source: it polls one
// Intercom resource for changed records and emits each change once, with
// the cursor stored in the same commit as the events it covers, like SAP
// Open Connectors' Intercom poller (event.poller.configuration).
//
// # Modes and per-resource defaults
//
// list (GET, newest updated first, pages.next.starting_after): the walk
// stops at the first page reaching past the cursor, then the window's
// changes are emitted oldest first, 100 per commit, each commit moving the
// cursor. The walk's changes are staged in the pipeline's state, one commit
// per page, and each emit deletes what it emits, so memory stays at a page
// and a chunk even for a whole-workspace backfill (start: all). A list that
// is not sorted newest updated first fails the poll loudly rather than
// missing records.
//
// search (POST .../search, updated_at ">" lower bound, sorted ascending):
// each page is emitted with the cursor in one commit; memory is one page.
// Intercom's ">" means ">=". With search_granularity: day (contacts in API
// 2.11 compare dates by calendar day in the workspace's timezone, and ">"
// starts at the next day) the query asks from a day earlier and records
// before the bound are skipped, so a poll re-reads at most the current day.
//
// Defaults: conversations use list mode with
// /conversations?order=desc&sort=updated_at, which is what SAP Open
// Connectors polls; the list reads the primary store, so changes are
// visible at once, exact to the second, and an incremental poll costs
// changes/pageSize + 1 requests (pollDelay 0). contacts use search mode
// (/contacts/search, day granularity, pollDelay 300s): the contact list has
// no documented updated_at order, and new contacts reach the search index
// only after "a few minutes". Search mode defaults to pollDelay 300s for any
// resource. Other resources need url; a url ending in /search means search
// mode. A large backfill of conversations (start: all) is faster in
// search mode, which needs no staging.
//
// # Cursor and duplicates
//
// The cursor (state key "cursor/<resource>") is a watermark: a date, and
// the ids already emitted at or after date − pollDelay. Polls read from
// date − pollDelay and skip what the cursor covers, so records sharing one
// updated_at across a page boundary, the pollDelay re-read and a restart
// mid-poll emit every change exactly once. The cursor never passes the
// poll's start; with filterByCurrentDate (default true) records changed
// after the poll began wait for the next poll. Each change has a stable
// eventId, hex sha256(pipeline, resource, id, updated)[:32], in Event.ID
// and $meta.id. $meta also carries resource, objectId, eventType (CREATED
// when created and updated dates are within createdCheckTolerance, else
// UPDATED) and eventDate (RFC 3339 UTC), which the shipped jq module's
// poll_event reads.
//
// start (only while no cursor is stored): now (default) emits changes made
// from the first poll on, not history, matching SAP Open Connectors, which
// reports changes since polling was enabled; all backfills every record;
// an RFC 3339 time starts there.
//
// # URL placeholders
//
// url may hold SAP Open Connectors' date placeholders, replaced with the
// poll's lower bound (cursor − pollDelay): ${gmtDate:FORMAT},
// ${date:FORMAT}, ${date}, ${dateTimeZone:ZONE:FORMAT}, ${epoch} (ms),
// ${epoch:s|ms|us}, ${milliseconds}. The config loader leaves these names
// for the poller (they cannot be environment variables), so the seed's URLs
// are written as they are:
//
//	url: /things?updated_since=${epoch:s}&day=${gmtDate:yyyy-MM-dd}
//
// A doubled dollar ($${...}) also yields a literal "${".
//
// # Dates
//
// datesConfiguration formats are "timestamp" (Unix seconds, Intercom's),
// "milliseconds" (Unix ms) or a Java SimpleDateFormat pattern such as
// yyyy-MM-dd'T'HH:mm:ssXXX, read in its *DateTimezone (GMT, an offset like
// -08:00, a Java short id like PST, or an IANA name).
//
// # Being a good API citizen
//
// Requests carry Intercom-Version (default 2.11). When X-RateLimit-Remaining
// falls to 1% of the limit the poller waits for X-RateLimit-Reset; a 429
// waits for Retry-After or the reset; 5xx and network errors are retried
// four times with backoff (1, 2, 4, 8 s), then the poll fails with the
// cursor unmoved and the error in the pipeline's status. 401 and 403 are
// reported (never the token) and retried at the interval. Polls never
// overlap.
package intercompoller
