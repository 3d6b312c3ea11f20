// Package http is connectord's signed HTTP sink: it POSTs each stored event
// to a callback URL, signed the way SAP Open Connectors signs its callbacks
// (scheme elements) or as Standard Webhooks (scheme standard), and classifies
// the receiver's answer so the engine knows whether to retry, dead-letter or
// pause.
//
// The sink makes exactly one attempt per Deliver call. Queueing, per-object
// ordering, the retry schedule and dead-lettering belong to the engine; the
// sink only reports them through Policy and *engine.DeliveryError.
//
// Other packages usually import it as httpsink, next to net/http. The signing
// helpers (SignElements, SignStandard, DecodeStandardSecret) are exported so
// receivers and benchmarks can verify what the sink sends.
package httpsink
