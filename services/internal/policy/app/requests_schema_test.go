package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/schemas"
	"github.com/rosterhq/roster/schemas/schematest"
)

// hookParsers is each roster.policy.hook subject's request parse, as its
// handler runs it before any use case.
var hookParsers = map[string]func([]byte) error{
	"hook.create": func(b []byte) error { _, err := ParseCreate(b); return err },
	"hook.update": func(b []byte) error { _, err := ParseUpdate(b); return err },
	"hook.get":    func(b []byte) error { _, err := ParseID(b, false); return err },
	"hook.list":   func(b []byte) error { _, err := ParseList(b); return err },
	"hook.delete": func(b []byte) error { _, err := ParseID(b, true); return err },
}

// Every request body below is accepted by the subject's parse exactly when
// its JSON Schema accepts it (the service's own checks of the hook as a
// whole come after both).
func TestHookRequestsAgreeWithSchemas(t *testing.T) {
	const create = `"actor":"ops","command":"member.invite","url":"https://p.example.com/x","format":"openim","on_failure":"deny"`
	cases := []struct {
		subject, body string
		accept        bool
	}{
		{"hook.create", `{` + create + `}`, true},
		{"hook.create", `{` + create + `,"id":"","timeout":"2s","callback":"x","secret":""}`, true},
		{"hook.create", `{` + create + `,"id":"h_1"}`, true},
		{"hook.create", `{` + create + `,"id":"h.1"}`, false},
		{"hook.create", `{` + create + `,"timeout":"5"}`, false},
		{"hook.create", `{` + create + `,"timeout":5}`, false},
		{"hook.create", `{` + create + `,"Actor":"x"}`, false},
		{"hook.create", `{` + create + `,"callback":"a\nb"}`, false},
		{"hook.create", `{` + create + `,"secret":"` + strings.Repeat("s", 513) + `"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","url":"https://p.example.com/x","format":"openim"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","url":"https://p.example.com/x","on_failure":"allow"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","format":"openim","on_failure":"allow"}`, false},
		{"hook.create", `{"actor":"ops","url":"https://p.example.com/x","format":"openim","on_failure":"allow"}`, false},
		{"hook.create", `{"command":"member.invite","url":"https://p.example.com/x","format":"openim","on_failure":"allow"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.quit","url":"https://p.example.com/x","format":"openim","on_failure":"allow"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","url":"","format":"openim","on_failure":"allow"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","url":"https://p.example.com/x","format":"","on_failure":"allow"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","url":"https://p.example.com/x","format":"openim","on_failure":"maybe"}`, false},
		{"hook.create", `{"actor":"ops","command":"member.invite","url":"https://p.example.com/` + strings.Repeat("x", 2048) + `","format":"openim","on_failure":"allow"}`, false},
		{"hook.create", `[]`, false},
		{"hook.update", `{"actor":"ops","id":"h1"}`, true},
		{"hook.update", `{"actor":"ops","id":"h1","url":"https://p.example.com/y","timeout":"1s","callback":"","on_failure":"allow","secret":"whsec_x"}`, true},
		{"hook.update", `{"actor":"ops","id":"h1","url":""}`, false},
		{"hook.update", `{"actor":"ops","id":"h1","secret":""}`, false},
		{"hook.update", `{"actor":"ops","id":"h1","on_failure":""}`, false},
		{"hook.update", `{"actor":"ops","id":"h1","format":"standard"}`, false},
		{"hook.update", `{"actor":"ops","id":"h1","command":"member.join"}`, false},
		{"hook.update", `{"id":"h1"}`, false},
		{"hook.update", `{"actor":"ops"}`, false},
		{"hook.get", `{"id":"h1"}`, true},
		{"hook.get", `{"id":"h1","actor":""}`, true},
		{"hook.get", `{"id":"h1","actor":"a.b"}`, false},
		{"hook.get", `{"id":""}`, false},
		{"hook.get", `{}`, false},
		{"hook.list", `{}`, true},
		{"hook.list", `{"command":""}`, true},
		{"hook.list", `{"command":"group.create"}`, true},
		{"hook.list", `{"command":"group.dismiss"}`, false},
		{"hook.list", `{"x":1}`, false},
		{"hook.delete", `{"actor":"ops","id":"h1"}`, true},
		{"hook.delete", `{"id":"h1"}`, false},
		{"hook.delete", `{"actor":"ops","id":"h1","reason":"x"}`, false},
	}
	compiled := map[string]*jsonschema.Schema{}
	for _, c := range cases {
		s := compiled[c.subject]
		if s == nil {
			s = schematest.Compile(t, "policy/"+c.subject+".json")
			compiled[c.subject] = s
		}
		goErr := hookParsers[c.subject]([]byte(c.body))
		if goErr != nil && events.CodeOf(goErr) != events.CodeInvalidArgument {
			t.Errorf("%s %s: refused with %s, want invalid_argument", c.subject, c.body, events.CodeOf(goErr))
		}
		schemaErr := schematest.Validate(t, s, []byte(c.body))
		if (goErr == nil) != c.accept || (schemaErr == nil) != c.accept {
			t.Errorf("%s %s: want accept=%v, parse: %v, schema: %v", c.subject, c.body, c.accept, goErr, schemaErr)
		}
	}
	for subject := range hookParsers {
		if compiled[subject] == nil {
			t.Errorf("no case for %s", subject)
		}
	}
}

// Every string a hook request schema admits has a length cap and a
// character rule: an id pattern, an enum, or wire's name pattern or the
// duration pattern with a cap.
func TestHookSchemaStringsAreCapped(t *testing.T) {
	for subject := range hookParsers {
		raw, err := schemas.PolicySchema(subject)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Properties map[string]map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		for name, p := range doc.Properties {
			_, enum := p["enum"]
			pattern, _ := p["pattern"].(string)
			_, maxLen := p["maxLength"]
			switch {
			case enum, strings.HasPrefix(pattern, "^[A-Za-z0-9_-]{"):
			case (pattern == wire.NamePattern || strings.HasPrefix(pattern, "^[-+]?(0|")) && maxLen:
			default:
				t.Errorf("%s.%s: string without a length cap and character rule: %v", subject, name, p)
			}
		}
	}
}
