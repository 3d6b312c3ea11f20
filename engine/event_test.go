package engine

import (
	"encoding/json"
	"testing"
)

// One rendering of an id for every component: the runner's eventId and
// ordering key and the webhook sources' dedupe ids agree (1.5 once became
// "2" in one place and "1.5" in another).
func TestIDString(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{"123", "123"}, {335.0, "335"}, {1.5, "1.5"}, {1e20, "100000000000000000000"},
		{json.Number("7.25"), "7.25"}, {int64(42), "42"}, {7, "7"},
		{true, ""}, {nil, ""}, {map[string]any{"a": 1.0}, ""}, {[]any{"x"}, ""},
	} {
		if got := IDString(tc.in); got != tc.want {
			t.Errorf("IDString(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
