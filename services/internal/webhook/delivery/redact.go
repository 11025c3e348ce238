package delivery

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL returns raw without user info, query and fragment: receivers
// put tokens there (?token=...), and a URL ends up in audit rows, logs and
// error messages. An unparsable URL redacts to "" rather than leak.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return redacted(u)
}

func redacted(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// RedactError rewrites err so its text carries no secret of raw: net/http
// wraps transport failures in a *url.Error whose text embeds the full
// request URL (query included; only the password is masked), and that text
// becomes an attempt's failure_message. The URL is replaced in the
// *url.Error (errors.Is/As keep working through it); any other copy of the
// secret parts in the text is masked by redactText.
func RedactError(err error, raw string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	u, perr := url.Parse(raw)
	if perr != nil || (u.User == nil && u.RawQuery == "" && u.Fragment == "") {
		return err
	}
	if text := err.Error(); text != redactText(text, u) {
		return &redactedError{text: redactText(text, u), err: err}
	}
	return err
}

// redactText masks the query, fragment and user info of u wherever they
// occur in text.
func redactText(text string, u *url.URL) string {
	var secrets []string
	if u.RawQuery != "" {
		secrets = append(secrets, u.RawQuery)
		if q, err := url.QueryUnescape(u.RawQuery); err == nil && q != u.RawQuery {
			secrets = append(secrets, q)
		}
	}
	if u.Fragment != "" {
		secrets = append(secrets, u.Fragment)
	}
	if u.User != nil {
		secrets = append(secrets, u.User.String())
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p)
		}
	}
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, "REDACTED")
	}
	return text
}

// redactedError is err with a redacted text.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
