// Package intercomsim is a fake Intercom REST API for tests, benchmarks and
// the demo (`connectord simulate intercom`).
//
// A Server is an http.Handler over an in-memory workspace of conversations,
// contacts, companies, tickets and articles shaped like Intercom's API 2.11–2.14 responses (ids
// are strings, timestamps Unix seconds). It serves:
//
//   - GET /conversations and GET /contacts: cursor pagination with per_page
//     (max 150) and starting_after (pages.next.starting_after), newest
//     updated first by default (order=asc|desc, sort=updated_at|created_at;
//     unknown parameters are ignored, as Intercom does).
//   - POST /conversations/search and POST /contacts/search: the query and
//     pagination body of the fixtures, with Intercom's quirks: ">" means
//     "greater or equal", contacts may compare dates by calendar day in the
//     workspace's timezone (Options.ContactSearchByDay, API 2.11), and a
//     changed record can stay invisible to search for Options.SearchDelay.
//     A "sort" object ({field, order: ascending|descending}) orders results;
//     without it results come in created_at order, so a client that relies
//     on an unrequested order is caught.
//   - GET /companies/scroll with scroll_param, POST /tickets/search and
//     GET /articles (pages.next as a URL): every polled resource of
//     sources/intercom's table at the request the poller makes for it.
//   - Intercom's OAuth endpoints, GET /oauth (approves at once and redirects
//     with a code) and POST /auth/eagle/token (exchanges it for Options.Token;
//     any code with Options.AcceptAnyCode), outside bearer auth.
//
// Every request needs "Authorization: Bearer <Options.Token>" (401 JSON error
// otherwise) and gets X-RateLimit-Limit/Remaining/Reset headers; over the
// budget per window it answers 429. Faults can be injected (FailNext,
// FailRate), requests are counted, and OnRequest runs a hook before each
// request is served, so a test can change records "between pages".
//
// Pagination cursors are keyset cursors (the sort key of the last record
// returned), which is how Intercom's opaque starting_after behaves: records
// that move while a client pages are neither skipped nor repeated because
// of the move itself.
//
// Time comes from Options.Clock, so tests can create many records sharing one
// updated_at or step through rate-limit windows without sleeping. Random
// content (names, churn) comes from Options.Seed: the same seed and the same
// calls give the same workspace.
package intercomsim
