// Package intercom holds the facts about Intercom that several parts of
// connectord need and none owns: which objects exist and how each is polled
// exactly (Resources), how an SAP Open Connectors resource URL becomes an
// Intercom request (TranslateHubURL), and how an OAuth access token is
// stored and read back (TokenSource). The poller, the webhook source, SAP
// Open Connectors import and the simulator import it; it imports no source.
package intercom
