package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestConsoleAddUser: the password comes from stdin (never argv), the
// file gets a bcrypt line per user, a second add-user replaces the line,
// and the file is private.
func TestConsoleAddUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	add := func(name, stdin string) (string, error) {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs([]string{"console", "add-user", name, "--users-file", path})
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	if out, err := add("alice", "first password\n"); err != nil || !strings.Contains(out, "user alice set in "+path) {
		t.Fatalf("add alice: %q %v", out, err)
	}
	if _, err := add("bob", "bobs password\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := add("alice", "second password\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "alice:") || !strings.HasPrefix(lines[1], "bob:") {
		t.Fatalf("want alice then bob, have\n%s", b)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimPrefix(lines[0], "alice:")), []byte("second password")); err != nil {
		t.Fatalf("alice's hash does not match her new password: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode: want 0600, have %v", fi.Mode().Perm())
	}
	for _, tc := range []struct{ name, stdin, want string }{
		{"carol", "", "no password on stdin"},
		{"carol", "short\n", "at least 8 characters"},
		{"bad name!", "long enough\n", "user name"},
	} {
		if _, err := add(tc.name, tc.stdin); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: want an error containing %q, have %v", tc.name, tc.stdin, tc.want, err)
		}
	}
}
