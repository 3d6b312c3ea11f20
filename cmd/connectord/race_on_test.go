//go:build race

package main

// raceEnabled: the race detector is on, in this test binary and so in the
// replicas the chaos test starts from it.
const raceEnabled = true
