package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/rosterhq/roster/services/internal/console/app"
)

func TestParseUsers(t *testing.T) {
	low, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	good, _ := bcrypt.GenerateFromPassword([]byte("pw"), MinCost)
	for _, tc := range []struct {
		name, file, want string
		users            int
	}{
		{"users, comments and blank lines", "# ops\n\nalice:" + string(good) + "\n  bob:" + string(good) + "  \n", "", 2},
		{"no colon", "alice\n", "line 1: want name:bcrypt-hash", 0},
		{"not bcrypt", "alice:plaintext\n", "line 1: user alice: not a bcrypt hash", 0},
		{"cost too low", "alice:" + string(low) + "\n", "bcrypt cost 4, want at least 10", 0},
		{"bad name", "al:ce:" + string(good) + "\n", "not a bcrypt hash", 0},
		{"name with a dot", "a.b:" + string(good) + "\n", `user name "a.b"`, 0},
		{"twice", "alice:" + string(good) + "\nalice:" + string(good) + "\n", "line 2: user alice listed twice", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUsers(strings.NewReader(tc.file))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no error, have %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, have %v", tc.want, err)
			case u.Len() != tc.users:
				t.Fatalf("want %d users, have %d", tc.users, u.Len())
			}
		})
	}
}

func TestAddUserAndCheck(t *testing.T) {
	file, err := AddUser([]byte("# operators\n"), "alice", "first password")
	if err != nil {
		t.Fatal(err)
	}
	if file, err = AddUser(file, "bob", "bobs password"); err != nil {
		t.Fatal(err)
	}
	if file, err = AddUser(file, "alice", "second password"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	if len(lines) != 3 || lines[0] != "# operators" || !strings.HasPrefix(lines[1], "alice:$2a$10$") || !strings.HasPrefix(lines[2], "bob:") {
		t.Fatalf("want the comment, alice replaced in place, bob: have\n%s", file)
	}
	u, err := ParseUsers(strings.NewReader(string(file)))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Check("alice", "second password"); err != nil {
		t.Fatalf("alice's new password: %v", err)
	}
	for _, tc := range [][2]string{{"alice", "first password"}, {"carol", "second password"}, {"bob", ""}} {
		if err := u.Check(tc[0], tc[1]); !errors.Is(err, ErrBadLogin) {
			t.Errorf("%s/%q: want ErrBadLogin, have %v", tc[0], tc[1], err)
		}
	}
	if _, err := AddUser(nil, "alice", "short"); err == nil {
		t.Error("a 5-character password was accepted")
	}
	if _, err := AddUser(nil, "console:x", "long enough"); err == nil {
		t.Error("a name that is no subject-safe id was accepted")
	}
}

func TestSessions(t *testing.T) {
	if _, err := NewSessions([]byte("short"), time.Hour); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
	s, err := NewSessions([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sess, err := s.New("alice", now)
	if err != nil {
		t.Fatal(err)
	}
	v := s.Encode(sess)
	have, err := s.Decode(v, now.Add(59*time.Minute))
	if err != nil || have.User != sess.User || !have.Expires.Equal(sess.Expires) || have.CSRF != sess.CSRF {
		t.Fatalf("want %+v back, have %+v, %v", sess, have, err)
	}
	if _, err := s.Decode(v, now.Add(time.Hour)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("at expiry: want ErrNoSession, have %v", err)
	}
	other, _ := s.New("alice", now)
	if other.CSRF == sess.CSRF {
		t.Fatal("two sessions share a CSRF token")
	}
	// A payload changed to another user keeps its old signature: refused.
	payload, sig, _ := strings.Cut(v, ".")
	forged := s.Encode(Session{User: "root", Expires: sess.Expires, CSRF: sess.CSRF})
	fp, _, _ := strings.Cut(forged, ".")
	if _, err := s.Decode(fp+"."+sig, now); !errors.Is(err, ErrNoSession) {
		t.Fatalf("forged payload: want ErrNoSession, have %v", err)
	}
	if _, err := s.Decode(payload, now); !errors.Is(err, ErrNoSession) {
		t.Fatalf("unsigned: want ErrNoSession, have %v", err)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/endpoints/x?page=2": "/endpoints/x?page=2", "//evil.example": "/", "/\\evil": "/", "https://evil.example": "/", "": "/"} {
		if have := safeNext(in); have != want {
			t.Errorf("safeNext(%q): want %q, have %q", in, want, have)
		}
	}
}

// TestLoginRate: sign-in attempts beyond the rate are refused with 429
// before any bcrypt work.
func TestLoginRate(t *testing.T) {
	file, err := AddUser(nil, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers(strings.NewReader(string(file)))
	if err != nil {
		t.Fatal(err)
	}
	sessions, _ := NewSessions([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	srv, err := New(Config{App: &app.App{}, Log: zerolog.Nop(), Users: users, Sessions: sessions, LoginRate: 1, Clock: clockwork.NewRealClock()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	codes := make(chan int, 6)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			resp, err := http.PostForm(ts.URL+"/login", url.Values{"name": {"alice"}, "password": {"guess"}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[http.StatusUnauthorized] != 2 || n[http.StatusTooManyRequests] != 4 {
		t.Fatalf("6 attempts at once at 1/s (bursts of 2): want 2 checked (401) and 4 refused (429), have %v", n)
	}
}
