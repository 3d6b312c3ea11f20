package jq

import "testing"

// TestDirectProgram: only the exact shipped call skips the interpreter.
func TestDirectProgram(t *testing.T) {
	for _, c := range []struct {
		program string
		direct  bool
	}{
		{`include "intercom"; webhook_event`, true},
		{"include \"intercom\";\n  webhook_event\n", true},
		{`include "intercom"; webhook_event | .x`, false},
		{`import "intercom" as ic; ic::webhook_event`, false},
		{`webhook_event`, false},
	} {
		if got := directProgram(c.program) != nil; got != c.direct {
			t.Errorf("directProgram(%q) = %v, want %v", c.program, got, c.direct)
		}
	}
}
