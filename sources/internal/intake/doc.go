// Package intake is the request handling shared by the webhook sources
// (intercom_webhook and webhook): reading a bounded body, decoding JSON,
// capturing headers for $meta, storing an event at most once per dedupe
// window, sweeping expired dedupe marks, and the small JSON answers.
//
// A source supplies two functions to an Endpoint: Verify (is the raw body
// authentic?) and Decide (what does this notification become?). The
// Endpoint owns everything else, so both sources answer with the same status
// codes and the same durable acknowledgement: 2xx only after Host.Emit
// returned nil.
package intake
