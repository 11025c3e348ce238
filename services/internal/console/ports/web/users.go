package web

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Users are the console's operator accounts, read from a users file: one
// "name:bcrypt-hash" per line, "#" comments and blank lines allowed
// (docs/adr/0095). The zero value has no users.
type Users struct {
	hashes map[string][]byte
}

// ErrBadLogin: no such user, or the wrong password. Which of the two is
// never said.
var ErrBadLogin = errors.New("wrong name or password")

// MinCost is the lowest bcrypt cost a users file may hold.
const MinCost = bcrypt.DefaultCost

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,56}$`)

// ValidName reports whether name can be an operator's name: it becomes
// the actor "console-<name>", so it must be an id.
func ValidName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("user name %q: want 1 to 56 of A-Z a-z 0-9 _ -", name)
	}
	return nil
}

// LoadUsers reads a users file.
func LoadUsers(path string) (Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return Users{}, fmt.Errorf("console users: %w", err)
	}
	defer f.Close()
	u, err := ParseUsers(f)
	if err != nil {
		return Users{}, fmt.Errorf("console users %s: %w", path, err)
	}
	return u, nil
}

// ParseUsers reads users from r. Every line must be valid: a typo must not
// leave an operator locked out without a word.
func ParseUsers(r io.Reader) (Users, error) {
	u := Users{hashes: map[string][]byte{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok {
			return Users{}, fmt.Errorf("line %d: want name:bcrypt-hash", n)
		}
		if err := ValidName(name); err != nil {
			return Users{}, fmt.Errorf("line %d: %w", n, err)
		}
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return Users{}, fmt.Errorf("line %d: user %s: not a bcrypt hash: %w", n, name, err)
		}
		if cost < MinCost {
			return Users{}, fmt.Errorf("line %d: user %s: bcrypt cost %d, want at least %d", n, name, cost, MinCost)
		}
		if _, dup := u.hashes[name]; dup {
			return Users{}, fmt.Errorf("line %d: user %s listed twice", n, name)
		}
		u.hashes[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return Users{}, err
	}
	return u, nil
}

// Len is the number of users.
func (u Users) Len() int { return len(u.hashes) }

// dummyHash is compared against when the user does not exist, so a login
// takes the same bcrypt work whether the name is known or not.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), MinCost)

// Check verifies name's password; ErrBadLogin when either is wrong.
func (u Users) Check(name, password string) error {
	hash, ok := u.hashes[name]
	if !ok {
		hash = dummyHash
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok {
		return ErrBadLogin
	}
	return nil
}

// AddUser returns the users file content with name's line set to a bcrypt
// hash of password (added at the end, or replacing name's line in place).
// Other lines, comments included, are kept as they are.
func AddUser(file []byte, name, password string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if len(password) < 8 {
		return nil, errors.New("password: want at least 8 characters")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), MinCost)
	if err != nil {
		return nil, err
	}
	entry := name + ":" + string(hash)
	var out bytes.Buffer
	replaced := false
	for _, line := range strings.SplitAfter(string(file), "\n") {
		if line == "" {
			continue
		}
		if n, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && n == name && !replaced {
			out.WriteString(entry + "\n")
			replaced = true
			continue
		}
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteString("\n")
		}
	}
	if !replaced {
		out.WriteString(entry + "\n")
	}
	if _, err := ParseUsers(bytes.NewReader(out.Bytes())); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
