package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// defaultLoginRate bounds the sign-in attempts one console process checks
// a second.
const defaultLoginRate = 10

func urlQueryEscape(s string) string            { return url.QueryEscape(s) }
func urlQueryUnescape(s string) (string, error) { return url.QueryUnescape(s) }

func constantEq(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// safeNext keeps a post-login redirect on this console: a path, never
// another host ("//evil", "/\\evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.NoLogin {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Sign in", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// login checks the name and password and sets the session cookie. The form
// has no session yet: the origin check and SameSite=Strict protect it.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.cfg.NoLogin {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	// Each attempt costs a bcrypt comparison: a process answers at most
	// Config.LoginRate of them a second, so a flood of guesses cannot take the
	// machine's CPU (guessing itself stays as slow as bcrypt makes it).
	if !s.logins.Allow() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many sign-in attempts; try again in a moment", http.StatusTooManyRequests)
		return
	}
	name, pw := r.PostFormValue("name"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	if err := s.cfg.Users.Check(name, pw); err != nil {
		s.cfg.Log.Info().Str("user", name).Str("remote", r.RemoteAddr).Msg("console login refused")
		s.render(w, r, http.StatusUnauthorized, "login", "Sign in", map[string]any{"Next": next, "Error": ErrBadLogin.Error(), "Name": name})
		return
	}
	sess, err := s.cfg.Sessions.New(name, s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: s.cfg.Sessions.Encode(sess), Path: "/", Expires: sess.Expires,
		HttpOnly: true, Secure: s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
	})
	s.cfg.Log.Info().Str("user", name).Msg("console login")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
