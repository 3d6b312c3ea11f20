// Package jq provides the jq and jq_file transforms, which run a jq program
// (gojq) over each event, and ships the "intercom" jq module that builds SAP
// Open Connectors callback envelopes from Intercom notifications and records.
//
// Programs are compiled once when the pipeline is built; syntax errors point
// at the offending character in the pipeline file (or the .jq file). Each
// event runs with a context and a per-event timeout, with the event's
// metadata bound to $meta. `include` and `import` find the embedded
// "intercom" module first, then NAME.jq in the pipeline file's directory.
// $ENV and env are empty: pipeline programs never see the process
// environment, which holds secrets.
//
// The package registers its transforms from init; the binary imports it for
// that side effect.
package jq
