// Package sealed encrypts secrets at rest: OAuth tokens in the store and
// the /instances API's secrets file. With CONNECTORD_SECRET_KEY (or a file
// named by CONNECTORD_SECRET_KEY_FILE) set, values are sealed with
// XChaCha20-Poly1305 (golang.org/x/crypto) under that key; without one they
// stay plaintext, in a 0600 file or the store, as before.
//
// A sealed value is the text "sealed:v1:" followed by base64 of a random
// 24-byte nonce and the ciphertext. Open accepts plaintext too, so data
// written before a key was set still reads; Reseal-style migrations write
// it back sealed. For rotation, CONNECTORD_SECRET_KEY_PREVIOUS holds
// earlier keys (comma-separated) that Open still tries; values are sealed
// with the current key whenever they are written.
package sealed

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// Environment variables that configure the default keyring.
const (
	EnvKey         = "CONNECTORD_SECRET_KEY"
	EnvKeyFile     = "CONNECTORD_SECRET_KEY_FILE"
	EnvPreviousKey = "CONNECTORD_SECRET_KEY_PREVIOUS"
)

var prefix = []byte("sealed:v1:")

// ErrNoKey is returned when a sealed value is read without any key that
// opens it.
var ErrNoKey = errors.New("sealed: no key opens this value (set CONNECTORD_SECRET_KEY, and CONNECTORD_SECRET_KEY_PREVIOUS while rotating)")

// Keyring seals with its first key and opens with any. The zero value has
// no key: Seal returns its input, Open reads plaintext only.
type Keyring struct {
	keys [][]byte // 32 bytes each; keys[0] seals
}

// ParseKey turns the text of a key into 32 bytes: 64 hex digits or
// base64 of 32 bytes are used as they are; any other text (a passphrase of
// at least 16 characters) is hashed with SHA-256.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	if len(s) < 16 {
		return nil, errors.New("sealed: a key is 32 bytes as 64 hex digits or base64, or a passphrase of at least 16 characters")
	}
	sum := sha256.Sum256([]byte(s))
	return sum[:], nil
}

// New returns a keyring sealing with current and opening with current or
// any of previous.
func New(current string, previous ...string) (*Keyring, error) {
	k := &Keyring{}
	for _, s := range append([]string{current}, previous...) {
		if strings.TrimSpace(s) == "" {
			continue
		}
		b, err := ParseKey(s)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, b)
	}
	return k, nil
}

// Enabled says whether values are sealed.
func (k *Keyring) Enabled() bool { return k != nil && len(k.keys) > 0 }

// Seal encrypts plain with the current key, or returns it unchanged
// without one.
func (k *Keyring) Seal(plain []byte) ([]byte, error) {
	if !k.Enabled() {
		return plain, nil
	}
	aead, err := chacha20poly1305.NewX(k.keys[0])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	ct := aead.Seal(nonce, nonce, plain, prefix)
	out := make([]byte, len(prefix), len(prefix)+base64.RawStdEncoding.EncodedLen(len(ct)))
	copy(out, prefix)
	return base64.RawStdEncoding.AppendEncode(out, ct), nil
}

// IsSealed says whether v is a sealed value.
func IsSealed(v []byte) bool { return bytes.HasPrefix(v, prefix) }

// Open decrypts a sealed value with whichever key opens it; a plaintext
// value is returned as it is.
func (k *Keyring) Open(v []byte) ([]byte, error) {
	if !IsSealed(v) {
		return v, nil
	}
	ct, err := base64.RawStdEncoding.DecodeString(string(v[len(prefix):]))
	if err != nil || len(ct) < chacha20poly1305.NonceSizeX {
		return nil, errors.New("sealed: damaged value")
	}
	if k != nil {
		for _, key := range k.keys {
			aead, err := chacha20poly1305.NewX(key)
			if err != nil {
				return nil, err
			}
			if plain, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], prefix); err == nil {
				return plain, nil
			}
		}
	}
	return nil, ErrNoKey
}

// SealedWithCurrent says whether v is sealed with the current key (so a
// rotation need not rewrite it).
func (k *Keyring) SealedWithCurrent(v []byte) bool {
	if !k.Enabled() || !IsSealed(v) {
		return false
	}
	only := &Keyring{keys: k.keys[:1]}
	_, err := only.Open(v)
	return err == nil
}

var (
	defaultOnce sync.Once
	defaultRing *Keyring
	defaultErr  error
	defaultMu   sync.Mutex
)

// Default is the keyring from the environment, read once.
func Default() (*Keyring, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultOnce.Do(func() { defaultRing, defaultErr = FromEnv(os.LookupEnv) })
	return defaultRing, defaultErr
}

// SetDefault replaces the default keyring (tests, and a daemon given its
// key another way).
func SetDefault(k *Keyring) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultOnce.Do(func() {})
	defaultRing, defaultErr = k, nil
}

// FromEnv reads the key from CONNECTORD_SECRET_KEY or the file named by
// CONNECTORD_SECRET_KEY_FILE, and earlier keys from
// CONNECTORD_SECRET_KEY_PREVIOUS.
func FromEnv(lookup func(string) (string, bool)) (*Keyring, error) {
	cur, _ := lookup(EnvKey)
	if file, ok := lookup(EnvKeyFile); ok && file != "" {
		if cur != "" {
			return nil, fmt.Errorf("sealed: set %s or %s, not both", EnvKey, EnvKeyFile)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("sealed: reading %s: %w", EnvKeyFile, err)
		}
		cur = string(b)
	}
	prev, _ := lookup(EnvPreviousKey)
	var previous []string
	if prev != "" {
		previous = strings.Split(prev, ",")
	}
	if cur == "" && len(previous) > 0 {
		return nil, fmt.Errorf("sealed: %s is set without %s", EnvPreviousKey, EnvKey)
	}
	return New(cur, previous...)
}

// Describe says how secrets are kept, for status.
func (k *Keyring) Describe() string {
	if k.Enabled() {
		return "encrypted (XChaCha20-Poly1305, key from " + EnvKey + ")"
	}
	return "not encrypted: OAuth tokens in the store and instance secrets in a 0600 file; set " + EnvKey + " to encrypt them"
}
