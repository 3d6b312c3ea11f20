package admin

import (
	"strings"

	"github.com/connectord/connectord/engine/runner"
)

// The states a pipeline is shown in. The runtime's own state strings carry
// a reason ("degraded: <error>"); the API splits them into a word a person
// or a script can match and the detail.
const (
	StateRunning  = "running"  // source and delivery healthy
	StateDegraded = "degraded" // the source reports an error but keeps trying
	StatePaused   = "paused"   // delivery paused after 410 Gone
	StateFailed   = "failed"   // the source stopped with an error and is being restarted
	StateRemoved  = "removed"  // not in the config any more; queue or dead letters remain
)

// classify turns a runtime status into a state word and its detail.
func classify(st runner.PipelineStatus) (state, detail string) {
	s := st.State
	switch {
	case s == StateRemoved:
		return StateRemoved, "not in the config; its stored events remain"
	case s == StatePaused || st.Delivery.Paused != "":
		return StatePaused, st.Delivery.Paused
	case strings.HasPrefix(s, "degraded"):
		return StateDegraded, strings.TrimPrefix(strings.TrimPrefix(s, "degraded"), ": ")
	case strings.HasPrefix(s, "source failed"):
		return StateFailed, strings.TrimPrefix(strings.TrimPrefix(s, "source failed"), ": ")
	case s == StateRunning:
		return StateRunning, ""
	default:
		// An unknown runtime state is shown as failed, with its text, so
		// a new state is visible rather than hidden as running.
		return StateFailed, s
	}
}

// States lists every state word, for the pipeline-state metric.
var States = []string{StateRunning, StateDegraded, StatePaused, StateFailed, StateRemoved}
