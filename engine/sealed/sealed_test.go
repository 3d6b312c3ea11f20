package sealed

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenRotate(t *testing.T) {
	old, _ := New("an old passphrase, long enough")
	v, err := old.Seal([]byte("tok-secret"))
	if err != nil || !IsSealed(v) || bytes.Contains(v, []byte("tok-secret")) {
		t.Fatalf("sealed = %q, %v", v, err)
	}
	if p, err := old.Open(v); err != nil || string(p) != "tok-secret" {
		t.Fatalf("open = %q, %v", p, err)
	}
	rotated, _ := New("a new passphrase, long enough too", "an old passphrase, long enough")
	if p, err := rotated.Open(v); err != nil || string(p) != "tok-secret" {
		t.Fatalf("open with the previous key = %q, %v", p, err)
	}
	if rotated.SealedWithCurrent(v) {
		t.Error("a value sealed with the previous key counts as current")
	}
	other, _ := New("somebody else's passphrase!")
	if _, err := other.Open(v); !errors.Is(err, ErrNoKey) {
		t.Errorf("open with a wrong key: %v", err)
	}
	if _, err := (&Keyring{}).Open(v); !errors.Is(err, ErrNoKey) {
		t.Errorf("open without a key: %v", err)
	}
	if p, _ := other.Open([]byte(`{"plain":true}`)); string(p) != `{"plain":true}` {
		t.Errorf("plaintext does not pass through: %q", p)
	}
	tampered := append([]byte(nil), v...)
	tampered[len(tampered)-2] ^= 1
	if _, err := old.Open(tampered); err == nil {
		t.Error("a tampered value opened")
	}
}
