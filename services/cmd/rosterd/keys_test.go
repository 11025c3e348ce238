package main

import (
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// rosterd nats-keys writes a seed per service whose public key is what the
// server's environment names, passwords that nats-server reads as plain
// strings, and never overwrites.
func TestWriteKeys(t *testing.T) {
	dir := t.TempDir()
	ks, err := writeKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range nkeyUsers {
		seed, err := os.ReadFile(ks.Files[u])
		if err != nil {
			t.Fatal(err)
		}
		kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if pub, _ := kp.PublicKey(); pub != ks.ServerEnv[nkeyEnv(u)] {
			t.Fatalf("%s: public key %s, env has %s", u, pub, ks.ServerEnv[nkeyEnv(u)])
		}
		if st, _ := os.Stat(ks.Files[u]); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v", u, st.Mode())
		}
	}
	env, err := os.ReadFile(dir + "/nats-server.env")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range passwordUsers {
		if !strings.Contains(string(env), passwordEnv(u)+"="+ks.ServerEnv[passwordEnv(u)]+"\n") {
			t.Fatalf("nats-server.env lacks %s", passwordEnv(u))
		}
	}
	if _, err := writeKeys(dir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second run: %v", err)
	}
}
