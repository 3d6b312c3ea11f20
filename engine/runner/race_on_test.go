//go:build race

package runner_test

// raceEnabled: the race detector slows everything several times over.
const raceEnabled = true
