// Package web is the operator console's HTTP side: the pages (Go
// html/template, enhanced with htmx), the login, the sessions and the CSRF
// defences (docs/adr/0094, 0095). Its handlers only call console/app.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/rosterhq/roster/services/internal/console/app"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config configures the console's handler.
type Config struct {
	App *app.App
	Log zerolog.Logger
	// NoLogin serves every page without a login as DevOperator, with a
	// banner saying so on every page (rosterd dev on loopback only).
	NoLogin bool
	// Users and Sessions are the login (required unless NoLogin).
	Users    Users
	Sessions *Sessions
	// SecureCookie sets the session cookie's Secure attribute (off only
	// when the console is reached over plain HTTP on loopback).
	SecureCookie bool
	// LoginRate is the most sign-in attempts a second this process checks
	// (default 10, bursts of twice that).
	LoginRate float64
	Clock     clockwork.Clock
}

// DevOperator is the operator of a console without login.
const DevOperator = "dev"

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.App == nil {
		errs = append(errs, errors.New("web: App is required"))
	}
	if !c.NoLogin && (c.Users.Len() == 0 || c.Sessions == nil) {
		errs = append(errs, errors.New("web: a console with login needs users and a session key"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("web: Clock is required"))
	}
	return errors.Join(errs...)
}

// Server is the console's http.Handler.
type Server struct {
	cfg     Config
	pages   map[string]*template.Template
	assets  fs.FS
	version string // content hash of the assets, for cache busting
	// devToken is the CSRF token of a console without login.
	devToken string
	// logins bounds the sign-in attempts checked per second.
	logins  *rate.Limiter
	handler http.Handler
}

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"overview", "endpoint", "group", "events", "policy", "login", "result", "error"}

// New builds the handler.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, err
	}
	if cfg.LoginRate <= 0 {
		cfg.LoginRate = defaultLoginRate
	}
	s := &Server{cfg: cfg, pages: map[string]*template.Template{}, assets: sub,
		logins: rate.NewLimiter(rate.Limit(cfg.LoginRate), max(1, int(2*cfg.LoginRate)))}
	if s.version, err = hashFS(sub); err != nil {
		return nil, err
	}
	for _, p := range pageNames {
		t, err := template.New(p).Funcs(s.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", p, err)
		}
		s.pages[p] = t
	}
	tok := make([]byte, 18)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	s.devToken = base64.RawURLEncoding.EncodeToString(tok)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", s.assetHandler()))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)

	auth := func(h http.HandlerFunc) http.Handler { return s.authenticated(h) }
	mux.Handle("GET /{$}", auth(s.overview))
	mux.Handle("GET /endpoints/{id}", auth(s.endpoint))
	mux.Handle("POST /endpoints", auth(s.createEndpoint))
	mux.Handle("POST /endpoints/{id}/{action}", auth(s.endpointAction))
	mux.Handle("GET /groups", auth(s.findGroup))
	mux.Handle("GET /groups/{id}", auth(s.group))
	mux.Handle("GET /events", auth(s.events))
	mux.Handle("GET /events/tail", auth(s.eventsTail))
	mux.Handle("GET /policy", auth(s.policy))
	mux.Handle("POST /policy/hooks", auth(s.createHook))
	mux.Handle("POST /policy/hooks/{id}/delete", auth(s.deleteHook))

	// Two CSRF defences (docs/adr/0095): the origin check here refuses
	// any cross-origin unsafe request; authenticated() checks the
	// session's token on every action.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return securityHeaders(cop.Handler(mux))
}

// securityHeaders: no inline script or style runs (the chart data is JSON,
// not code), no framing, no MIME sniffing.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) assetHandler() http.Handler {
	files := http.FileServerFS(s.assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Asset URLs carry the content hash (?v=), so they never change.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}

func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

type ctxKey struct{}

// operator is who is signed in on r (DevOperator without login).
func operator(r *http.Request) Session {
	s, _ := r.Context().Value(ctxKey{}).(Session)
	return s
}

// authenticated lets a signed-in operator through (everyone, without
// login) and checks the CSRF token of every unsafe request.
func (s *Server) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess Session
		if s.cfg.NoLogin {
			sess = Session{User: DevOperator, CSRF: s.devCSRF()}
		} else {
			c, err := r.Cookie(CookieName)
			if err == nil {
				sess, err = s.cfg.Sessions.Decode(c.Value, s.cfg.Clock.Now())
			}
			if err != nil {
				login := "/login?next=" + urlQueryEscape(r.URL.RequestURI())
				switch {
				case r.Header.Get("HX-Request") == "true":
					// A poll or a boosted click of an expired session:
					// htmx sends the whole page to the login.
					w.Header().Set("HX-Redirect", "/login")
					http.Error(w, "not signed in", http.StatusUnauthorized)
				case r.Method != http.MethodGet:
					http.Error(w, "not signed in", http.StatusUnauthorized)
				default:
					http.Redirect(w, r, login, http.StatusSeeOther)
				}
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if !constantEq(tok, sess.CSRF) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}

// devCSRF is the token of a console without login: random per process,
// required like a session's, so the forms and checks are the same.
func (s *Server) devCSRF() string { return s.devToken }

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	User    string
	NoLogin bool
	CSRF    string
	Version string
	Flash   string
	FlashOK bool
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	sess := operator(r)
	p := page{Title: title, Nav: name, User: sess.User, NoLogin: s.cfg.NoLogin, CSRF: sess.CSRF, Version: s.version, Data: data}
	p.Flash, p.FlashOK = takeFlash(w, r)
	var b strings.Builder
	if err := s.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		s.cfg.Log.Error().Err(err).Str("page", name).Msg("render")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// renderFragment renders one named template of a page alone (the events
// tail's rows).
func (s *Server) renderFragment(w http.ResponseWriter, r *http.Request, name, fragment string, data any) {
	var b strings.Builder
	if err := s.pages[name].ExecuteTemplate(&b, fragment, data); err != nil {
		s.cfg.Log.Error().Err(err).Str("fragment", fragment).Msg("render")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

// fail renders an error page: a service's refusal as it said it, not
// found as 404, anything else as 502 (the console's sources failed).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	var se *app.ServiceError
	var ie *app.InputError
	switch {
	case errors.Is(err, app.ErrNotFound):
		status = http.StatusNotFound
	case errors.As(err, &ie):
		status = http.StatusBadRequest
	case errors.As(err, &se):
		status = http.StatusBadRequest
	}
	if status == http.StatusBadGateway {
		s.cfg.Log.Warn().Err(err).Str("path", r.URL.Path).Msg("console page failed")
	}
	s.render(w, r, status, "error", "Error", map[string]any{"Status": status, "Message": err.Error()})
}

const flashCookie = "roster_console_flash"

// setFlash leaves a message for the page the browser is sent to next.
func setFlash(w http.ResponseWriter, msg string, ok bool) {
	v := "0"
	if ok {
		v = "1"
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: v + urlQueryEscape(msg), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func takeFlash(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	msg, _ := urlQueryUnescape(c.Value[1:])
	return msg, c.Value[0] == '1'
}
