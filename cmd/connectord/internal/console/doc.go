// Package console is the instance console: server-rendered pages on the
// admin listener (behind the admin token) that do what SAP Open Connectors'
// UI does for Intercom instances. It lists instances with their state,
// creates one the SAP OC way (name, tags, polling or webhooks, callback
// URL, signature key, refresh interval, resources to poll, then "Connect
// Intercom", which runs the OAuth authorization-code flow and returns
// here), edits and deletes them, and shows each instance's Webhook URL,
// pipeline file, deliveries and dead letters with a replay button.
//
// Every change goes through soc.Instances, the code behind POST/PATCH/DELETE
// /elements/api-v2/instances: the same pipeline file, the same checks (the
// loader's and builders' errors are shown at the form field they came
// from), and hot reload starts the result. The only JavaScript is the copy
// button.
package console
