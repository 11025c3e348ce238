package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func TestSecretKeySources(t *testing.T) {
	log := zerolog.Nop()
	dir := t.TempDir()
	k1, _ := endpoint.GenerateKey()
	k2, _ := endpoint.GenerateKey()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := func(s string) string {
		k, err := endpoint.ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return endpoint.KeyID(k)
	}

	t.Setenv(envSecretKey, "")
	t.Setenv(envSecretOldKeys, "")
	if _, err := (&secretKeyOptions{}).keyring(log); !errors.Is(err, errNoSecretKey) {
		t.Fatalf("no key: %v, want errNoSecretKey", err)
	}

	kr, err := (&secretKeyOptions{keyFile: file}).keyring(log)
	if err != nil || kr.CurrentKeyID() != id(k1) {
		t.Fatalf("key file: %v", err)
	}

	t.Setenv(envSecretKey, k2)
	t.Setenv(envSecretOldKeys, k1)
	if kr, err = (&secretKeyOptions{}).keyring(log); err != nil || kr.CurrentKeyID() != id(k2) {
		t.Fatalf("environment: %v", err)
	}
	t.Setenv(envSecretOldKeys, "nonsense")
	if _, err := (&secretKeyOptions{}).keyring(log); !errors.Is(err, endpoint.ErrBadKey) {
		t.Fatalf("bad old key: %v, want ErrBadKey", err)
	}

	// The dev stack generates its key once and keeps using it.
	t.Setenv(envSecretKey, "")
	t.Setenv(envSecretOldKeys, "")
	dev := &secretKeyOptions{devKeyFile: filepath.Join(dir, "data", "webhook-secret.key")}
	first, err := dev.keyring(log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dev.devKeyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file: %v %v", err, st)
	}
	again, err := dev.keyring(log)
	if err != nil || again.CurrentKeyID() != first.CurrentKeyID() {
		t.Fatalf("dev key changed across restarts: %v", err)
	}
}

// "rosterd dev" loads its key in the dispatcher and in roster-policy at
// once: however they race, both end up with the one key on disk.
func TestDevKeyGeneratedOnceUnderRace(t *testing.T) {
	t.Setenv(envSecretKey, "")
	t.Setenv(envSecretOldKeys, "")
	for round := range 5 {
		dev := &secretKeyOptions{devKeyFile: filepath.Join(t.TempDir(), fmt.Sprint(round), "webhook-secret.key")}
		ids := make(chan string, 8)
		var wg sync.WaitGroup
		for range cap(ids) {
			wg.Go(func() {
				kr, err := dev.keyring(zerolog.Nop())
				if err != nil {
					t.Error(err)
					return
				}
				ids <- kr.CurrentKeyID()
			})
		}
		wg.Wait()
		close(ids)
		key, err := endpoint.ReadKeyFile(dev.devKeyFile)
		if err != nil {
			t.Fatal(err)
		}
		for id := range ids {
			if id != endpoint.KeyID(key) {
				t.Fatalf("round %d: a loader sealed with key %s, the file holds %s", round, id, endpoint.KeyID(key))
			}
		}
	}
}
