package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/services/internal/console/app"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		// when renders a time for the browser to show in its own zone
		// (console.js); the text is UTC for a browser without scripts.
		"when": func(t time.Time) template.HTML {
			if t.IsZero() {
				return "—"
			}
			u := t.UTC()
			return template.HTML(`<time datetime="` + u.Format(time.RFC3339Nano) + `">` + u.Format("2006-01-02 15:04:05") + ` UTC</time>`)
		},
		"whenp": func(t *time.Time) template.HTML {
			if t == nil || t.IsZero() {
				return "—"
			}
			u := t.UTC()
			return template.HTML(`<time datetime="` + u.Format(time.RFC3339Nano) + `">` + u.Format("2006-01-02 15:04:05") + ` UTC</time>`)
		},
		"us":  func(us int64) string { return fmtDur(time.Duration(us) * time.Microsecond) },
		"dur": fmtDur,
		"pct": func(f float64) string {
			if f < 0 {
				return "—"
			}
			return strconv.FormatFloat(f, 'f', 1, 64) + "%"
		},
		"join":  strings.Join,
		"asset": func(name string) string { return "/assets/" + name + "?v=" + s.version },
		"qs": func(kv ...any) string {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if val := fmt.Sprint(kv[i+1]); val != "" && val != "0" {
					v.Set(fmt.Sprint(kv[i]), val)
				}
			}
			if len(v) == 0 {
				return ""
			}
			return "?" + v.Encode()
		},
		"add":  func(a, b int) int { return a + b },
		"edur": func(d endpoint.Duration) string { return time.Duration(d).String() },
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64) + " ms"
	default:
		return d.Round(time.Second).String()
	}
}

func intParam(r *http.Request, name string) int {
	n, _ := strconv.Atoi(r.URL.Query().Get(name))
	return n
}

func uintParam(r *http.Request, name string) uint64 {
	n, _ := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	return n
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	o := s.cfg.App.Overview(r.Context(), intParam(r, "page"))
	s.render(w, r, http.StatusOK, "overview", "Overview", o)
}

// endpointData is the endpoint page's template data.
type endpointData struct {
	app.EndpointPage
	Chart  chartData
	Result any
}

type chartData struct {
	Series    app.Series    `json:"series"`
	Histogram app.Histogram `json:"histogram"`
}

func (s *Server) endpoint(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.App.Endpoint(r.Context(), r.PathValue("id"), intParam(r, "page"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "endpoint", "Endpoint "+p.Endpoint.ID, endpointData{EndpointPage: p, Chart: chartData{p.Series, p.Histogram}})
}

// endpointAction runs one of the endpoint page's buttons. Pause, resume,
// redeliver and delete redirect (POST-redirect-GET) with a message; test
// and rotate-secret show their result once, on the page they answer with.
func (s *Server) endpointAction(w http.ResponseWriter, r *http.Request) {
	ctx, op, id := r.Context(), operator(r).User, r.PathValue("id")
	back := "/endpoints/" + url.PathEscape(id)
	switch r.PathValue("action") {
	case "pause":
		if err := s.cfg.App.Pause(ctx, op, id, r.PostFormValue("reason")); err != nil {
			s.fail(w, r, err)
			return
		}
		setFlash(w, "Endpoint "+id+" paused.", true)
	case "resume":
		if err := s.cfg.App.Resume(ctx, op, id); err != nil {
			s.fail(w, r, err)
			return
		}
		setFlash(w, "Endpoint "+id+" resumed: its held deliveries are being sent.", true)
	case "redeliver":
		rg, err := redeliverRange(r, id)
		if err == nil {
			var res app.RedeliverResult
			if res, err = s.cfg.App.Redeliver(ctx, op, rg); err == nil {
				msg := fmt.Sprintf("Redelivery: %d deliveries enqueued from %d commits (seq %d to %d).", res.Enqueued, res.Scanned, res.FirstSeq, res.LastSeq)
				if res.Truncated {
					msg += fmt.Sprintf(" The range was cut short: redeliver again from seq %d.", res.NextSinceSeq)
				}
				setFlash(w, msg, true)
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	case "delete":
		if err := s.cfg.App.DeleteEndpoint(ctx, op, id, r.PostFormValue("reason")); err != nil {
			s.fail(w, r, err)
			return
		}
		setFlash(w, "Endpoint "+id+" deleted.", true)
		back = "/"
	case "test":
		res, err := s.cfg.App.Test(ctx, op, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "result", "Test of "+id, map[string]any{"Kind": "test", "ID": id, "Test": res})
		return
	case "rotate-secret":
		secret, err := s.cfg.App.RotateSecret(ctx, op, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "result", "New secret of "+id, map[string]any{"Kind": "secret", "ID": id, "Secret": secret})
		return
	default:
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func redeliverRange(r *http.Request, id string) (app.RedeliverRange, error) {
	rg := app.RedeliverRange{EndpointID: id}
	var err error
	parseTime := func(field string) (time.Time, error) {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			return time.Time{}, nil
		}
		// <input type=datetime-local> sends no zone: the form's script
		// adds the browser's offset (field_tz), and without it the value
		// is read as UTC.
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		t, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			return time.Time{}, &app.InputError{Field: field, Message: "want a date and time"}
		}
		if off, err := strconv.Atoi(r.PostFormValue(field + "_tz")); err == nil {
			t = t.Add(time.Duration(off) * time.Minute)
		}
		return t, nil
	}
	parseSeq := func(field string) (uint64, error) {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, &app.InputError{Field: field, Message: "want a stream sequence"}
		}
		return n, nil
	}
	if rg.Since, err = parseTime("since"); err != nil {
		return rg, err
	}
	if rg.Until, err = parseTime("until"); err != nil {
		return rg, err
	}
	if rg.SinceSeq, err = parseSeq("since_seq"); err != nil {
		return rg, err
	}
	if rg.UntilSeq, err = parseSeq("until_seq"); err != nil {
		return rg, err
	}
	return rg, nil
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, f)
	}
	return out
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) {
	e := app.NewEndpoint{
		ID: strings.TrimSpace(r.PostFormValue("id")), URL: strings.TrimSpace(r.PostFormValue("url")),
		Description: r.PostFormValue("description"), EventTypes: splitList(r.PostFormValue("event_types")),
		GroupIDs: splitList(r.PostFormValue("group_ids")), Format: r.PostFormValue("format"),
		Ordered: r.PostFormValue("ordered") != "",
	}
	id, secret, err := s.cfg.App.CreateEndpoint(r.Context(), operator(r).User, e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "result", "Endpoint "+id+" created", map[string]any{"Kind": "created", "ID": id, "Secret": secret})
}

func (s *Server) findGroup(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/groups/"+url.PathEscape(id), http.StatusSeeOther)
}

func (s *Server) group(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := s.cfg.App.Group(r.Context(), r.PathValue("id"), uintParam(r, "at_version"), q.Get("cursor"), intParam(r, "page"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "group", "Group "+p.Info.GroupID, p)
}

// eventsData is the events page's template data.
type eventsData struct {
	Filter  app.EventFilter
	Replay  bool
	FromSeq uint64
	ToSeq   uint64
	Events  []app.StoredEvent
	More    bool
	Next    uint64
	Err     error
}

func eventFilter(r *http.Request) app.EventFilter {
	return app.EventFilter{GroupID: strings.TrimSpace(r.URL.Query().Get("group")), Type: strings.TrimSpace(r.URL.Query().Get("type"))}
}

// events is the live tail (newest first; htmx polls eventsTail for what
// follows) or, with from_seq, a replay of a range.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	d := eventsData{Filter: eventFilter(r), FromSeq: uintParam(r, "from_seq"), ToSeq: uintParam(r, "to_seq")}
	if d.FromSeq > 0 {
		d.Replay = true
		d.Events, d.More, d.Err = s.cfg.App.Replay(r.Context(), d.Filter, d.FromSeq, d.ToSeq)
	} else {
		d.Events, d.Next, d.Err = s.cfg.App.Tail(r.Context(), d.Filter, 0)
		reverse(d.Events)
	}
	s.render(w, r, http.StatusOK, "events", "Events", d)
}

// eventsTail is the rows stored after ?after, for the tail's poll.
func (s *Server) eventsTail(w http.ResponseWriter, r *http.Request) {
	d := eventsData{Filter: eventFilter(r)}
	after := uintParam(r, "after")
	// after is 0 only when the stream was empty as the page loaded: then
	// everything stored since is new.
	d.Events, d.Next, d.Err = s.cfg.App.Tail(r.Context(), d.Filter, after)
	reverse(d.Events)
	s.renderFragment(w, r, "events", "tail-rows", d)
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func (s *Server) policy(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "policy", "Policy hooks", s.cfg.App.PolicyPage(r.Context(), intParam(r, "page")))
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) {
	h := app.NewHook{
		ID: strings.TrimSpace(r.PostFormValue("id")), Command: r.PostFormValue("command"), URL: strings.TrimSpace(r.PostFormValue("url")),
		Format: r.PostFormValue("format"), Timeout: strings.TrimSpace(r.PostFormValue("timeout")), OnFailure: r.PostFormValue("on_failure"),
	}
	id, secret, err := s.cfg.App.CreateHook(r.Context(), operator(r).User, h)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "result", "Policy hook "+id+" created", map[string]any{"Kind": "hook", "ID": id, "Secret": secret})
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.cfg.App.DeleteHook(r.Context(), operator(r).User, id); err != nil {
		s.fail(w, r, err)
		return
	}
	setFlash(w, "Policy hook "+id+" deleted.", true)
	http.Redirect(w, r, "/policy", http.StatusSeeOther)
}
