package ports

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/schemas"
	"github.com/rosterhq/roster/schemas/schematest"
)

// requestTypes names each command's Go request type, so the test can hold
// it against the command's JSON Schema.
var requestTypes = map[string]any{
	"group.create": createRequest{}, "group.update": updateRequest{}, "group.dismiss": plainRequest{},
	"group.transfer": transferRequest{}, "group.mute": plainRequest{}, "group.unmute": plainRequest{},
	"member.invite": reasonUsersRequest{}, "member.join": joinRequest{}, "member.approve": userRequest{},
	"member.reject": rejectRequest{}, "member.remove": reasonUsersRequest{}, "member.quit": plainRequest{},
	"member.set_role": setRoleRequest{}, "member.set_info": setInfoRequest{}, "member.mute": muteRequest{}, "member.unmute": userRequest{},
}

// jsonFields lists the JSON names of t's fields, following embedded structs,
// and which are required (no omitempty, not a pointer).
func jsonFields(t reflect.Type) (all, required []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			a, r := jsonFields(f.Type)
			all, required = append(all, a...), append(required, r...)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	sort.Strings(all)
	sort.Strings(required)
	return all, required
}

type schemaDoc struct {
	Properties    map[string]json.RawMessage `json:"properties"`
	Required      []string                   `json:"required"`
	SchemaVersion int                        `json:"x-schema-version"`
}

func readSchema(t *testing.T, raw []byte) schemaDoc {
	t.Helper()
	var d schemaDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// Every command's Go request type and its JSON Schema name the same
// fields, and the schema requires what the service requires.
func TestCommandSchemasMatchGoTypes(t *testing.T) {
	if len(requestTypes) != len(parsers) {
		t.Fatalf("requestTypes covers %d commands, parsers %d", len(requestTypes), len(parsers))
	}
	for name, v := range requestTypes {
		t.Run(name, func(t *testing.T) {
			raw, err := schemas.CommandSchema(name)
			if err != nil {
				t.Fatal(err)
			}
			doc := readSchema(t, raw)
			goFields, _ := jsonFields(reflect.TypeOf(v))
			var schemaFields []string
			for f := range doc.Properties {
				schemaFields = append(schemaFields, f)
			}
			sort.Strings(schemaFields)
			if !slices.Equal(goFields, schemaFields) {
				t.Fatalf("want schema fields %v (Go), have %v", goFields, schemaFields)
			}
			// Removing any schema-required field makes the service refuse it.
			sample := sampleRequest(t, schematest.Compile(t, "commands/"+name+".json"), doc)
			for _, req := range doc.Required {
				partial := map[string]any{}
				_ = json.Unmarshal(sample, &partial)
				delete(partial, req)
				b, _ := json.Marshal(partial)
				if _, err := parsers[name](b); err == nil || events.CodeOf(err) != events.CodeInvalidArgument {
					t.Errorf("without %s: want invalid_argument, have %v", req, err)
				}
			}
			if _, err := parsers[name](sample); err != nil {
				t.Fatalf("schema-valid sample %s refused: %v", sample, err)
			}
		})
	}
}

// sampleRequest builds a request holding every property with a valid value
// and checks that the schema accepts it.
func sampleRequest(t *testing.T, s *jsonschema.Schema, doc schemaDoc) []byte {
	t.Helper()
	values := map[string]any{
		"group_id": "A", "actor": "o", "command_id": "c1", "name": "n", "intro": "i", "join_policy": "open",
		"members": []string{"m"}, "new_owner": "m", "user_ids": []string{"u"}, "message": "hi", "user_id": "u",
		"reason": "r", "role": "admin", "duration_seconds": 60,
		"admins": []string{"a"}, "face_url": "https://f/x.png", "ex": "{}", "notification": "read me",
		"look_member_info": 1, "apply_member_friend": 0, "source": 4, "nickname": "Nick",
	}
	sample := map[string]any{}
	for f := range doc.Properties {
		v, ok := values[f]
		if !ok {
			t.Fatalf("no sample value for %s", f)
		}
		sample[f] = v
	}
	b, _ := json.Marshal(sample)
	if err := schematest.Validate(t, s, b); err != nil {
		t.Fatalf("schema refuses sample %s: %v", b, err)
	}
	return b
}

// Every event type's data type and its JSON Schema agree on fields and on
// the current schema version; and real events validate.
func TestEventSchemasMatchGoTypes(t *testing.T) {
	for _, ty := range events.AllTypes {
		t.Run(string(ty), func(t *testing.T) {
			raw, err := schemas.EventSchema(string(ty))
			if err != nil {
				t.Fatal(err)
			}
			doc := readSchema(t, raw)
			if doc.SchemaVersion != events.SchemaVersions[ty] {
				t.Fatalf("x-schema-version %d, Go %d", doc.SchemaVersion, events.SchemaVersions[ty])
			}
			goFields, goRequired := jsonFields(reflect.TypeOf(events.NewData(ty)).Elem())
			var schemaFields []string
			for f := range doc.Properties {
				schemaFields = append(schemaFields, f)
			}
			sort.Strings(schemaFields)
			sort.Strings(doc.Required)
			if !slices.Equal(goFields, schemaFields) {
				t.Fatalf("fields: Go %v, schema %v", goFields, schemaFields)
			}
			if !slices.Equal(goRequired, doc.Required) {
				t.Fatalf("required: Go %v, schema %v", goRequired, doc.Required)
			}
		})
	}
}
