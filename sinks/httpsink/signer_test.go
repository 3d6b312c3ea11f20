package httpsink

import (
	"bytes"
	"testing"
)

// TestSignerMatchesSignFunctions: the pooled signer the sink uses gives the
// exported functions' signatures, also when its HMACs are reused.
func TestSignerMatchesSignFunctions(t *testing.T) {
	key := []byte("k3y")
	s := newSigner(key)
	for i, body := range [][]byte{[]byte(`{"a":1}`), {}, []byte(`{"a":1}`), bytes.Repeat([]byte("x"), 1000)} {
		if got, want := s.elements(body), SignElements(key, body); got != want {
			t.Errorf("%d: elements %q, want %q", i, got, want)
		}
		if got, want := s.standard("msg_1", "1700000000", body), SignStandard(key, "msg_1", "1700000000", body); got != want {
			t.Errorf("%d: standard %q, want %q", i, got, want)
		}
	}
}
