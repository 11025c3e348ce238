package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/schemas"
	"github.com/rosterhq/roster/schemas/schematest"
)

// requestParsers is each webhook subject's request parse, as its handler
// runs it before touching the store.
var requestParsers = map[string]func([]byte) error{
	"endpoint.create":        func(b []byte) error { _, err := ParseCreate(b); return err },
	"endpoint.update":        func(b []byte) error { _, err := ParseUpdate(b); return err },
	"endpoint.get":           func(b []byte) error { _, err := ParseID(b, false); return err },
	"endpoint.list":          ParseList,
	"endpoint.delete":        func(b []byte) error { _, err := ParseID(b, true); return err },
	"endpoint.pause":         func(b []byte) error { _, err := ParseID(b, true); return err },
	"endpoint.resume":        func(b []byte) error { _, err := ParseID(b, true); return err },
	"endpoint.test":          func(b []byte) error { _, err := ParseID(b, true); return err },
	"endpoint.rotate_secret": func(b []byte) error { _, err := ParseRotate(b); return err },
	"redeliver":              func(b []byte) error { _, err := ParseRedeliver(b); return err },
}

type corpusCase struct {
	Subject    string `json:"subject"`
	Name       string `json:"name"`
	Body       string `json:"body"`
	BodyBase64 string `json:"body_base64"`
	Accept     bool   `json:"accept"`
	GoOnly     string `json:"go_only"` // why a schema validator cannot see it
}

// Every webhook request body of the corpus is accepted by the handler's
// parse exactly when the subject's JSON Schema accepts it.
func TestWebhookCorpusAgreesWithSchemas(t *testing.T) {
	raw, err := os.ReadFile("../../../../schemas/testdata/corpus/webhooks.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus struct {
		Webhooks []corpusCase `json:"webhooks"`
	}
	if err := json.Unmarshal(raw, &corpus); err != nil {
		t.Fatal(err)
	}
	compiled := map[string]*jsonschema.Schema{}
	seen := map[string]int{}
	for _, c := range corpus.Webhooks {
		parse, ok := requestParsers[c.Subject]
		if !ok {
			t.Fatalf("corpus names unknown subject %q", c.Subject)
		}
		s := compiled[c.Subject]
		if s == nil {
			s = schematest.Compile(t, "webhooks/"+c.Subject+".json")
			compiled[c.Subject] = s
		}
		seen[c.Subject]++
		body := []byte(c.Body)
		if c.BodyBase64 != "" {
			if body, err = base64.StdEncoding.DecodeString(c.BodyBase64); err != nil {
				t.Fatal(err)
			}
		}
		goErr := parse(body)
		if goErr != nil && events.CodeOf(goErr) != events.CodeInvalidArgument {
			t.Errorf("%s / %s: refused with %s, want invalid_argument: %v", c.Subject, c.Name, events.CodeOf(goErr), goErr)
		}
		if (goErr == nil) != c.Accept {
			t.Errorf("%s / %s: Roster accepts=%v (%v), corpus says %v: %q", c.Subject, c.Name, goErr == nil, goErr, c.Accept, body)
		}
		if c.GoOnly != "" {
			continue
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		schemaOK := err == nil && s.Validate(v) == nil
		if schemaOK != c.Accept {
			why := err
			if why == nil {
				why = s.Validate(v)
			}
			t.Errorf("%s / %s: schema accepts=%v (%v), corpus says %v: %q", c.Subject, c.Name, schemaOK, why, c.Accept, body)
		}
	}
	for name := range requestParsers {
		if seen[name] < 4 {
			t.Errorf("corpus has %d bodies for %s", seen[name], name)
		}
	}
}

// Each webhook request's Go type and its JSON Schema name the same members.
func TestWebhookSchemasMatchGoTypes(t *testing.T) {
	types := map[string]any{
		"endpoint.create": CreateRequest{}, "endpoint.update": UpdateRequest{}, "endpoint.get": IDRequest{},
		"endpoint.list": struct{}{}, "endpoint.delete": IDRequest{}, "endpoint.pause": IDRequest{},
		"endpoint.resume": IDRequest{}, "endpoint.test": IDRequest{}, "endpoint.rotate_secret": RotateRequest{},
		"redeliver": RedeliverRequest{},
	}
	if len(types) != len(requestParsers) {
		t.Fatalf("types cover %d subjects, parsers %d", len(types), len(requestParsers))
	}
	for name, v := range types {
		raw, err := schemas.WebhookSchema(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Properties           map[string]json.RawMessage `json:"properties"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.AdditionalProperties == nil || *doc.AdditionalProperties {
			t.Errorf("%s: additionalProperties must be false", name)
		}
		rt := reflect.TypeOf(v)
		var goNames []string
		for i := range rt.NumField() {
			n, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			goNames = append(goNames, n)
		}
		var schemaNames []string
		for n := range doc.Properties {
			schemaNames = append(schemaNames, n)
		}
		slices.Sort(goNames)
		slices.Sort(schemaNames)
		if !slices.Equal(goNames, schemaNames) {
			t.Errorf("%s: Go %v, schema %v", name, goNames, schemaNames)
		}
	}
}

// FuzzWebhookRequestsAgreeWithSchemas: a body a webhook subject's parse
// accepts is one its JSON Schema accepts. Seeds: the corpus's accepted
// bodies.
func FuzzWebhookRequestsAgreeWithSchemas(f *testing.F) {
	raw, err := os.ReadFile("../../../../schemas/testdata/corpus/webhooks.json")
	if err != nil {
		f.Fatal(err)
	}
	var corpus struct {
		Webhooks []corpusCase `json:"webhooks"`
	}
	if err := json.Unmarshal(raw, &corpus); err != nil {
		f.Fatal(err)
	}
	names := make([]string, 0, len(requestParsers))
	for n := range requestParsers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, c := range corpus.Webhooks {
		if c.Accept && c.BodyBase64 == "" && len(c.Body) < 4096 {
			f.Add(uint8(slices.Index(names, c.Subject)), []byte(c.Body))
		}
	}
	compiled := map[string]*jsonschema.Schema{}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		name := names[int(which)%len(names)]
		if requestParsers[name](body) != nil {
			return
		}
		if name == "endpoint.list" && len(bytes.TrimSpace(body)) == 0 {
			return // an empty body is a list request too (documented)
		}
		s := compiled[name]
		if s == nil {
			s = schematest.Compile(t, "webhooks/"+name+".json")
			compiled[name] = s
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s accepted %q, which a gateway cannot parse: %v", name, body, err)
		}
		if err := s.Validate(v); err != nil {
			t.Fatalf("%s accepted %q, which its schema refuses: %v", name, body, err)
		}
	})
}
