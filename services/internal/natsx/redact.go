package natsx

import (
	"net/url"
	"strings"
)

// RedactURL returns a NATS server URL list (comma-separated) with every
// password and token replaced by "***" and user names kept, for messages
// and logs. An entry that does not parse is replaced whole: it may be
// nothing but a secret.
func RedactURL(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		if err != nil {
			parts[i] = "<unparsable url>"
			continue
		}
		if u.User != nil {
			if _, hasPass := u.User.Password(); hasPass {
				u.User = url.UserPassword(u.User.Username(), "redacted")
			} else {
				// nats://TOKEN@host: the user part alone is the secret.
				u.User = url.User("redacted")
			}
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// urlHasUserinfo reports whether any entry of a URL list carries user
// info.
func urlHasUserinfo(list string) bool {
	for _, p := range strings.Split(list, ",") {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			return true
		}
	}
	return false
}

// RedactError returns err with every secret of the URL list and every
// extra secret masked in its text: nats.go and net/url errors may quote a
// URL whole. errors.Is and errors.As see through it.
func RedactError(err error, list string, extra ...string) error {
	if err == nil {
		return nil
	}
	secrets := append([]string(nil), extra...)
	for _, p := range strings.Split(list, ",") {
		u, perr := url.Parse(strings.TrimSpace(p))
		if perr != nil {
			secrets = append(secrets, strings.TrimSpace(p))
			continue
		}
		if u.User == nil {
			continue
		}
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		} else {
			secrets = append(secrets, u.User.Username())
		}
	}
	text := err.Error()
	masked := text
	for _, s := range secrets {
		if s != "" {
			masked = strings.ReplaceAll(masked, s, "***")
		}
	}
	if masked == text {
		return err
	}
	return &redactedError{text: masked, err: err}
}

type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
