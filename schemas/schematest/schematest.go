// Package schematest compiles Roster's JSON Schemas (package schemas) for
// tests that hold Go types, parsers and produced events to them.
package schematest

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster/schemas"
)

// base is the $id prefix every schema file is published under.
const base = "https://roster.dev/schemas/"

// Compile compiles the schema file at path (as schemas.JSON names it, e.g.
// "commands/member.invite.json") with formats asserted. The event envelope
// (event.json) is added too, for the schemas that refer to it.
func Compile(t testing.TB, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	paths := []string{path}
	if path != "event.json" {
		paths = append(paths, "event.json")
	}
	for _, p := range paths {
		raw, err := schemas.JSON(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(base+p, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(base + path)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

// Validate validates data, which must be JSON, against s.
func Validate(t testing.TB, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}
