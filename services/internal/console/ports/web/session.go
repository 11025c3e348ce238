package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sessions are stateless: the cookie carries the operator's name, the
// session's expiry and its CSRF token, signed with HMAC-SHA256 under a key
// every console process shares, so any of them behind a balancer accepts
// it (docs/adr/0095).
type Sessions struct {
	key []byte
	ttl time.Duration
}

// MinKeyLen is the shortest session key accepted.
const MinKeyLen = 32

// CookieName is the session cookie's name.
const CookieName = "roster_console"

// ErrNoSession: the cookie is missing, forged, malformed or expired.
var ErrNoSession = errors.New("no valid session")

// NewSessions signs with key; sessions last ttl.
func NewSessions(key []byte, ttl time.Duration) (*Sessions, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("console session key: %d bytes, want at least %d", len(key), MinKeyLen)
	}
	if ttl <= 0 {
		return nil, errors.New("console session lifetime must be positive")
	}
	return &Sessions{key: key, ttl: ttl}, nil
}

// Session is a signed-in operator.
type Session struct {
	User    string
	Expires time.Time
	// CSRF is the token every action of this session must carry.
	CSRF string
}

// New makes a session for user starting at now.
func (s *Sessions) New(user string, now time.Time) (Session, error) {
	tok := make([]byte, 18)
	if _, err := rand.Read(tok); err != nil {
		return Session{}, err
	}
	return Session{User: user, Expires: now.Add(s.ttl).Truncate(time.Second), CSRF: base64.RawURLEncoding.EncodeToString(tok)}, nil
}

// Encode is the cookie value of sess: payload "." signature.
func (s *Sessions) Encode(sess Session) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(sess.User + "|" + strconv.FormatInt(sess.Expires.Unix(), 10) + "|" + sess.CSRF))
	return payload + "." + s.sign(payload)
}

// Decode checks a cookie value's signature and expiry at now.
func (s *Sessions) Decode(v string, now time.Time) (Session, error) {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sig), []byte(s.sign(payload))) != 1 {
		return Session{}, ErrNoSession
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Session{}, ErrNoSession
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return Session{}, ErrNoSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return Session{}, ErrNoSession
	}
	return Session{User: parts[0], Expires: time.Unix(exp, 0), CSRF: parts[2]}, nil
}

func (s *Sessions) sign(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("roster-console-session\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
