package soc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/sealed"
)

// SecretsFile is where, under the data directory, the /instances API keeps
// the values of the variables its pipeline files reference.
const SecretsFile = "soc/secrets.json"

// secretsMu serialises read-modify-write of the secrets file in a process;
// the store's lock keeps a second process from serving the same data dir.
var secretsMu sync.Mutex

// WithSecrets returns an Env that looks a variable up in base first, so the
// operator can always override, and then in dataDir's secrets file.
func WithSecrets(dataDir string, base config.Env) config.Env {
	path := filepath.Join(dataDir, SecretsFile)
	return func(name string) (string, bool) {
		if v, ok := base(name); ok {
			return v, true
		}
		secretsMu.Lock()
		m, err := readSecrets(path)
		secretsMu.Unlock()
		if err != nil {
			return "", false
		}
		v, ok := m[name]
		return v, ok
	}
}

func readSecrets(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	ring, err := sealed.Default()
	if err != nil {
		return nil, err
	}
	if b, err = ring.Open(b); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading %s: not a JSON object of strings", path)
	}
	return m, nil
}

// updateSecrets sets the variables of set (empty values are skipped) and
// deletes those in remove, rewriting the file atomically with mode 0600.
func updateSecrets(dataDir string, set []EnvVar, remove []string) error {
	path := filepath.Join(dataDir, SecretsFile)
	secretsMu.Lock()
	defer secretsMu.Unlock()
	m, err := readSecrets(path)
	if err != nil {
		return err
	}
	for _, name := range remove {
		delete(m, name)
	}
	for _, e := range set {
		if e.Value != "" {
			m[e.Name] = e.Value.Reveal()
		}
	}
	return writeSecrets(path, m)
}

// writeSecrets writes the secrets file atomically with mode 0600, sealed
// when CONNECTORD_SECRET_KEY is set.
func writeSecrets(path string, m map[string]string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	ring, err := sealed.Default()
	if err != nil {
		return err
	}
	if b, err = ring.Seal(b); err != nil {
		return fmt.Errorf("sealing %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	return WriteFileAtomic(path, b, 0o600)
}

// ResealSecrets rewrites the secrets file under dataDir sealed with the
// current key if it is plaintext or sealed with a previous one. It reports
// whether it rewrote it.
func ResealSecrets(dataDir string) (bool, error) {
	ring, err := sealed.Default()
	if err != nil || !ring.Enabled() {
		return false, err
	}
	path := filepath.Join(dataDir, SecretsFile)
	secretsMu.Lock()
	defer secretsMu.Unlock()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && ring.SealedWithCurrent(b)) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m, err := readSecrets(path)
	if err != nil {
		return false, err
	}
	return true, writeSecrets(path, m)
}
