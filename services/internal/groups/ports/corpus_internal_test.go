package ports

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/schemas"
	"github.com/rosterhq/roster/schemas/schematest"
)

// corpusCase is one body of schemas/testdata/corpus: what Roster and the
// subject's JSON Schema must both decide.
type corpusCase struct {
	Subject    string `json:"subject"`
	Name       string `json:"name"`
	Body       string `json:"body"`
	BodyBase64 string `json:"body_base64"` // bodies that are not valid UTF-8
	Accept     bool   `json:"accept"`
	// GoOnly explains why a JSON Schema validator cannot see the difference
	// (duplicate names, invalid UTF-8, lone surrogates, integer lexical
	// form): only Roster's decision is checked.
	GoOnly string `json:"go_only"`
}

func (c corpusCase) body(t *testing.T) []byte {
	if c.BodyBase64 == "" {
		return []byte(c.Body)
	}
	b, err := base64.StdEncoding.DecodeString(c.BodyBase64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// schemaAccepts is a gateway's decision: parse the body as JSON, then
// validate it against the schema.
func schemaAccepts(s *jsonschema.Schema, body []byte) (bool, string) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return false, "parse: " + err.Error()
	}
	if err := s.Validate(v); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// Every command body of the corpus is accepted by the service's parser
// exactly when its JSON Schema accepts it; refusals are invalid_argument.
func TestCommandCorpusAgreesWithSchemas(t *testing.T) {
	corpus := struct{ Commands []corpusCase }{loadCommandCorpus(t)}
	compiled := map[string]*jsonschema.Schema{}
	seen := map[string]int{}
	for _, c := range corpus.Commands {
		parse, ok := parsers[c.Subject]
		if !ok {
			t.Fatalf("corpus names unknown command %q", c.Subject)
		}
		s := compiled[c.Subject]
		if s == nil {
			s = schematest.Compile(t, "commands/"+c.Subject+".json")
			compiled[c.Subject] = s
		}
		seen[c.Subject]++
		body := c.body(t)
		_, goErr := parse(body)
		if goErr != nil && events.CodeOf(goErr) != events.CodeInvalidArgument {
			t.Errorf("%s / %s: refused with %s, want invalid_argument: %v", c.Subject, c.Name, events.CodeOf(goErr), goErr)
		}
		if (goErr == nil) != c.Accept {
			t.Errorf("%s / %s: Roster accepts=%v (%v), corpus says %v: %q", c.Subject, c.Name, goErr == nil, goErr, c.Accept, body)
		}
		if c.GoOnly != "" {
			continue
		}
		if ok, why := schemaAccepts(s, body); ok != c.Accept {
			t.Errorf("%s / %s: schema accepts=%v (%s), corpus says %v: %q", c.Subject, c.Name, ok, why, c.Accept, body)
		}
	}
	for name := range parsers {
		if seen[name] < 20 {
			t.Errorf("corpus has %d bodies for %s, want at least 20", seen[name], name)
		}
	}
}

// Every string a request schema admits has a length cap and a character
// rule: an id pattern, an enum, a format, or wire's text or name pattern.
func TestRequestSchemaStringsAreCapped(t *testing.T) {
	var files []string
	for name := range parsers {
		files = append(files, "commands/"+name+".json")
	}
	for _, name := range []string{"create", "update", "get", "list", "delete", "pause", "resume", "rotate_secret", "test"} {
		files = append(files, "webhooks/endpoint."+name+".json")
	}
	files = append(files, "webhooks/redeliver.json")
	for _, f := range files {
		raw, err := schemas.JSON(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		walkStrings(doc, f, func(where string, s map[string]any) {
			_, enum := s["enum"]
			_, format := s["format"]
			pattern, _ := s["pattern"].(string)
			_, maxLen := s["maxLength"]
			switch {
			case enum, format:
			case strings.HasPrefix(pattern, "^[A-Za-z0-9_-]{"):
			case (pattern == wire.TextPattern || pattern == wire.NamePattern || strings.HasPrefix(pattern, "^[-+]?(0|")) && maxLen:
			default:
				t.Errorf("%s: string without a length cap and character rule: %v", where, s)
			}
		})
	}
}

func walkStrings(v any, where string, fn func(string, map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "string" {
			fn(where, v)
		}
		for k, e := range v {
			walkStrings(e, where+"/"+k, fn)
		}
	case []any:
		for _, e := range v {
			walkStrings(e, where, fn)
		}
	}
}

// FuzzCommandsAgreeWithSchemas looks for the dangerous direction of a
// parser differential: a body roster-groups accepts must be one its JSON
// Schema accepts, and the group and actor a gateway reads from it must be
// the ones Roster acts on. Seeds: the corpus.
func FuzzCommandsAgreeWithSchemas(f *testing.F) {
	raw, err := os.ReadFile("../../../../schemas/testdata/corpus/commands.json")
	if err != nil {
		f.Fatal(err)
	}
	var corpus struct {
		Commands []corpusCase `json:"commands"`
	}
	if err := json.Unmarshal(raw, &corpus); err != nil {
		f.Fatal(err)
	}
	names := make([]string, 0, len(parsers))
	for n := range parsers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, c := range corpus.Commands {
		// Accepted bodies are the interesting starting points; refused ones
		// would only slow the baseline run.
		if c.Accept && c.BodyBase64 == "" && len(c.Body) < 4096 {
			f.Add(uint8(slices.Index(names, c.Subject)), []byte(c.Body))
		}
	}
	compiled := map[string]*jsonschema.Schema{}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		name := names[int(which)%len(names)]
		p, err := parsers[name](body)
		if err != nil {
			return
		}
		s := compiled[name]
		if s == nil {
			s = schematest.Compile(t, "commands/"+name+".json")
			compiled[name] = s
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s accepted %q, which a gateway cannot parse: %v", name, body, err)
		}
		if err := s.Validate(v); err != nil {
			t.Fatalf("%s accepted %q, which its schema refuses: %v", name, body, err)
		}
		m, _ := v.(map[string]any)
		if m["group_id"] != p.GroupID || m["actor"] != p.Actor {
			t.Fatalf("%s: a gateway reads group %v actor %v, Roster acts on %q %q", name, m["group_id"], m["actor"], p.GroupID, p.Actor)
		}
	})
}

// loadCommandCorpus reads the shared command corpus (schemas/testdata).
func loadCommandCorpus(t testing.TB) []corpusCase {
	t.Helper()
	raw, err := os.ReadFile("../../../../schemas/testdata/corpus/commands.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus struct {
		Commands []corpusCase `json:"commands"`
	}
	if err := json.Unmarshal(raw, &corpus); err != nil {
		t.Fatal(err)
	}
	return corpus.Commands
}
