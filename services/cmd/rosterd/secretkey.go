package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// secretKeyOptions say where the dispatcher's webhook secret key comes
// from (ADR 0055). The dispatcher does not start without one: a key is
// what keeps ROSTER_WEBHOOK_ENDPOINTS free of secrets.
type secretKeyOptions struct {
	keyFile     string   // --webhook-secret-key-file
	oldKeyFiles []string // --webhook-secret-old-key-file (still open, never seal)
	// devKeyFile is set by "rosterd dev": without a configured key, the
	// dev stack uses (and first generates) this file in its data dir.
	devKeyFile string
}

// Environment variables of the key, for deployments without files.
const (
	envSecretKey     = "ROSTER_WEBHOOK_SECRET_KEY"
	envSecretOldKeys = "ROSTER_WEBHOOK_SECRET_OLD_KEYS" // comma-separated
)

var errNoSecretKey = errors.New("the dispatcher and roster-policy need a webhook secret key: --webhook-secret-key-file or $" + envSecretKey +
	" (32 random bytes, base64: openssl rand -base64 32)")

func (k *secretKeyOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&k.keyFile, "webhook-secret-key-file", envOr("ROSTER_WEBHOOK_SECRET_KEY_FILE", ""),
		"file holding the key (32 bytes, base64 or hex) that encrypts webhook secrets at rest ($ROSTER_WEBHOOK_SECRET_KEY_FILE; or the key itself in $"+envSecretKey+")")
	f.StringSliceVar(&k.oldKeyFiles, "webhook-secret-old-key-file", nil,
		"files of previous keys, still accepted for decryption while records are re-encrypted ($"+envSecretOldKeys+": the keys themselves, comma-separated)")
}

// keyring loads the keys: the file, else the environment, else (dev only)
// the dev key file, generated when missing.
func (k *secretKeyOptions) keyring(log zerolog.Logger) (*endpoint.Keyring, error) {
	current, err := k.current(log)
	if err != nil {
		return nil, err
	}
	var old [][]byte
	for _, f := range k.oldKeyFiles {
		key, err := endpoint.ReadKeyFile(f)
		if err != nil {
			return nil, err
		}
		old = append(old, key)
	}
	if v := os.Getenv(envSecretOldKeys); v != "" {
		for i, s := range strings.Split(v, ",") {
			key, err := endpoint.ParseKey(s)
			if err != nil {
				return nil, fmt.Errorf("$%s key %d: %w", envSecretOldKeys, i, err)
			}
			old = append(old, key)
		}
	}
	return endpoint.NewKeyring(current, old...)
}

func (k *secretKeyOptions) current(log zerolog.Logger) ([]byte, error) {
	switch {
	case k.keyFile != "":
		return endpoint.ReadKeyFile(k.keyFile)
	case os.Getenv(envSecretKey) != "":
		key, err := endpoint.ParseKey(os.Getenv(envSecretKey))
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", envSecretKey, err)
		}
		return key, nil
	case k.devKeyFile != "":
		return devKey(k.devKeyFile, log)
	}
	return nil, errNoSecretKey
}

// devKey reads the dev stack's key, generating it on first use, and says
// so: it is a plain file next to the data it protects, fit for a laptop.
// The dispatcher and roster-policy both load it, at the same time under
// "rosterd dev": the first key written wins whole (createOnce), so both
// seal with one key.
func devKey(path string, log zerolog.Logger) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		s, err := endpoint.GenerateKey()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("dev webhook secret key: %w", err)
		}
		created, err := createOnce(path, []byte(s+"\n"))
		if err != nil {
			return nil, fmt.Errorf("dev webhook secret key: %w", err)
		}
		if created {
			log.Warn().Str("file", path).Msg("generated a dev webhook secret key; production sets --webhook-secret-key-file")
		}
	}
	key, err := endpoint.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	log.Info().Str("file", path).Str("key_id", endpoint.KeyID(key)).Msg("webhook secrets encrypted with the dev key")
	return key, nil
}

// createOnce writes data to path (mode 0600) unless path exists, and never
// leaves a partial file there: data goes to a temporary file first, which
// is then hard-linked into place (a link fails when path exists). created
// is false when another writer got there first.
func createOnce(path string, data []byte) (created bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
