// Package fleet runs several connectord replicas on one shared store for
// the chaos test and `connectord demo --cluster N`: each replica a child
// process of `connectord run` (so a kill is a real crash: no lease
// released, no ack sent), and a receiver that verifies every callback's
// signature and records which replica delivered what, in arrival order.
//
// Each replica reaches the receiver (and the Intercom simulator) at a path
// or address of its own, so the receiver and the simulator can tell the
// replicas apart without any cooperation from connectord.
package fleet
