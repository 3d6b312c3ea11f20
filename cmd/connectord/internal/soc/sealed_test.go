package soc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/sealed"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

func useKey(t *testing.T, current string, previous ...string) *sealed.Keyring {
	t.Helper()
	k, err := sealed.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	sealed.SetDefault(k)
	t.Cleanup(func() { sealed.SetDefault(&sealed.Keyring{}) })
	return k
}

// TestSecretsAtRestAreSealed: with a key, a stored OAuth token and an
// instance secret round-trip, and neither appears in the raw store file or
// secrets file; a plaintext token written before the key was set is sealed
// by ResealTokens; after a rotation (old key kept as previous) everything
// still reads and is resealed with the new key.
func TestSecretsAtRestAreSealed(t *testing.T) {
	const token, secret = "tok-AAAA-plain-token-value", "client-secret-BBBB-value"
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "connectord.db")
	st, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Before any key: plaintext, as today.
	sealed.SetDefault(&sealed.Keyring{})
	var b store.Batch
	if err := intercom.PutToken(&b, "legacy", intercom.Token{AccessToken: "legacy-token", Obtained: time.Now()}, "p"); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}

	ring := useKey(t, "first key, long enough to use")
	b = store.Batch{}
	if err := intercom.PutToken(&b, "acme", intercom.Token{AccessToken: token, Obtained: time.Now()}, "p"); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if n, err := intercom.ResealTokens(ctx, st, ring); err != nil || n != 2 {
		t.Fatalf("reseal = %d, %v; want the legacy token's two copies", n, err)
	}
	if err := updateSecrets(dir, []EnvVar{{Name: "ACME_SECRET", Value: config.Secret(secret)}}, nil); err != nil {
		t.Fatal(err)
	}
	readBack := func() {
		t.Helper()
		for name, want := range map[string]string{"acme": token, "legacy": "legacy-token"} {
			tok, err := intercom.TokenSource(ctx, intercom.StoreGetter(st, "p"), name).Token()
			if err != nil || tok.AccessToken != want {
				t.Fatalf("token %s = %v, %v", name, tok, err)
			}
		}
		if v, ok := WithSecrets(dir, func(string) (string, bool) { return "", false })("ACME_SECRET"); !ok || v != secret {
			t.Fatalf("secret = %q, %v", v, ok)
		}
	}
	readBack()

	// Rotation: the new key seals, the old one still opens, a start reseals.
	ring = useKey(t, "second key, also long enough", "first key, long enough to use")
	readBack()
	if n, err := intercom.ResealTokens(ctx, st, ring); err != nil || n != 4 {
		t.Fatalf("reseal after rotation = %d, %v; want 4", n, err)
	}
	if ok, err := ResealSecrets(dir); err != nil || !ok {
		t.Fatalf("reseal secrets = %v, %v", ok, err)
	}
	useKey(t, "second key, also long enough")
	readBack()
	st.Close()

	// The legacy token is not looked for: bbolt's freed pages keep old bytes
	// until they are reused (see README, secrets at rest).
	for _, f := range []string{dbPath, filepath.Join(dir, SecretsFile)} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{token, secret, "tok-AAAA"} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), s)
			}
		}
	}
	if info, _ := os.Stat(filepath.Join(dir, SecretsFile)); info.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v, want 0600", info.Mode().Perm())
	}
}
