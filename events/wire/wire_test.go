package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/events"
)

type envelope struct {
	GroupID   string `json:"group_id"`
	Actor     string `json:"actor"`
	CommandID string `json:"command_id,omitempty"`
}

type request struct {
	envelope
	Name     string            `json:"name"`
	Members  []string          `json:"members,omitempty"`
	Count    int64             `json:"count,omitempty"`
	Update   *string           `json:"update,omitempty"`
	Nested   *nested           `json:"nested,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	At       time.Time         `json:"at,omitzero"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Every    every             `json:"every,omitempty"`
	Untagged string
	skipped  string
	Ignored  string `json:"-"`
}

// every decodes itself, as endpoint.Duration does.
type every time.Duration

func (e *every) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a string: %w", err)
	}
	d, err := time.ParseDuration(s)
	*e = every(d)
	return err
}

type nested struct {
	Items []nested `json:"items,omitempty"`
	Value string   `json:"value,omitempty"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, body string
		want       string // "" accepts; else a substring of the message
	}{
		{"minimal", `{"group_id":"g","actor":"a","name":"n"}`, ""},
		{"whitespace around", " \n{\"group_id\":\"g\"}\t\r\n ", ""},
		{"escaped name", `{"gro\u0075p_id":"g"}`, ""},
		{"surrogate pair", `{"name":"\ud83d\ude00"}`, ""},
		{"tab and line feed in text", `{"name":"a\tb\nc"}`, ""},
		{"nested", `{"nested":{"items":[{"value":"x"},{"items":[]}]}}`, ""},
		{"map members", `{"labels":{"Any":"x","any":"y"}}`, ""},
		{"open raw", `{"raw":{"a":[1,2,{"b":true}]}}`, ""},
		{"null in open raw", `{"raw":{"a":[{"b":null}]}}`, "raw.a[0].b: null"},
		{"time", `{"at":"2026-01-02T03:04:05Z"}`, ""},
		{"untagged Go name", `{"Untagged":"x"}`, ""},
		{"numbers", `{"count":-0}`, ""},
		{"exponent", `{"raw":1.5e+10}`, ""},

		{"empty", ``, "empty request"},
		{"spaces only", "  ", "empty request"},
		{"array", `[]`, "want a JSON object"},
		{"string", `"x"`, "want a JSON object"},
		{"trailing brace", `{"group_id":"g"}}`, "data after the JSON object"},
		{"trailing object", `{"group_id":"g"}{}`, "data after the JSON object"},
		{"unterminated", `{"group_id":"g"`, "unexpected end of input"},
		{"case differs", `{"GROUP_ID":"g"}`, `unknown field "GROUP_ID" (names are case-sensitive: did you mean "group_id"?)`},
		{"case differs in Go name", `{"untagged":"x"}`, `did you mean "Untagged"?`},
		{"unknown", `{"owner":"x"}`, `unknown field "owner"`},
		{"unexported", `{"skipped":"x"}`, `unknown field "skipped"`},
		{"dash tag", `{"Ignored":"x"}`, `unknown field "Ignored"`},
		{"duplicate", `{"group_id":"a","actor":"o","group_id":"b"}`, "group_id: duplicate field"},
		{"duplicate escaped", `{"group_id":"a","group\u005fid":"b"}`, "group_id: duplicate field"},
		{"duplicate in map", `{"labels":{"a":"x","a":"y"}}`, "labels.a: duplicate field"},
		{"duplicate in open value", `{"raw":{"a":1,"a":2}}`, "raw.a: duplicate field"},
		{"unknown nested", `{"nested":{"items":[{"Value":"x"}]}}`, `unknown field "nested.items[0].Value"`},
		{"null", `{"update":null}`, "update: null is not accepted"},
		{"null in array", `{"members":["a",null]}`, "members[1]: null is not accepted"},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", "invalid UTF-8 at byte 9"},
		{"overlong UTF-8", "{\"name\":\"\xc0\xaf\"}", "invalid UTF-8"},
		{"lone high surrogate", `{"name":"\ud800"}`, `name: lone surrogate \ud800`},
		{"lone low surrogate", `{"name":"\udc00x"}`, `name: lone surrogate \udc00`},
		{"high then non-low", `{"name":"\ud800\u0041"}`, `lone surrogate`},
		{"NUL escape", `{"name":"a\u0000"}`, "name: holds U+0000"},
		{"ANSI escape", `{"name":"\u001b[31mred"}`, "name: holds U+001B"},
		{"carriage return", `{"name":"a\r\n"}`, "name: holds U+000D"},
		{"raw DEL", "{\"name\":\"a\x7f\"}", "name: holds U+007F"},
		{"raw C1", "{\"name\":\"a\u009b\"}", "name: holds U+009B"},
		{"raw RLO", "{\"name\":\"a\u202e\"}", "name: holds U+202E"},
		{"escaped isolate", `{"members":["\u2066x"]}`, "members[0]: holds U+2066"},
		{"BOM", "{\"name\":\"\ufeffa\"}", "name: holds U+FEFF"},
		{"control in a name", `{"grou\u0000p_id":"g"}`, "a member name holds U+0000"},
		{"raw control", "{\"name\":\"a\nb\"}", "control character in a string"},
		{"bad escape", `{"name":"\x"}`, "unknown escape"},
		{"bad hex", `{"name":"\u00g0"}`, "four hex digits"},
		{"leading zero", `{"count":01}`, "want ',' or '}'"},
		{"bare minus", `{"count":-}`, "want a digit"},
		{"dot without digits", `{"raw":1.}`, "after '.'"},
		{"bad literal", `{"raw":tru}`, "want a value"},
		{"missing colon", `{"name" "x"}`, "want ':'"},
		{"trailing comma", `{"name":"x",}`, "want a member name"},
		{"array trailing comma", `{"members":["a",]}`, "want a value"},
		{"wrong type", `{"name":1}`, "name: wrong type: got number, want string"},
		{"wrong elem type", `{"members":[1]}`, "wrong type: got number, want string"},
		{"fraction for integer", `{"count":1.5}`, "count: wrong type: got number 1.5, want integer"},
		{"bad time", `{"at":"yesterday"}`, "at: want an RFC 3339 time"},
		{"time as a number", `{"at":5}`, "at: want an RFC 3339 time"},
		{"own decoder refuses", `{"group_id":"g","every":"soon"}`, `every: time: invalid duration "soon"`},
		{"own decoder wrong type", `{"every":5}`, "every: wrong type: got number, want string"},
		{"own decoder ok", `{"every":"1m"}`, ""},
		{"too deep", `{"raw":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "nested deeper than 32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r request
			err := Decode([]byte(c.body), &r)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", c.want)
			}
			if !errors.Is(err, events.ErrInvalidArgument) {
				t.Fatalf("code %s, want invalid_argument", events.CodeOf(err))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("message %q, want it to contain %q", err.Error(), c.want)
			}
			if strings.Contains(err.Error(), "json:") || strings.Contains(err.Error(), "Go struct") {
				t.Fatalf("message leaks parser internals: %q", err.Error())
			}
		})
	}
}

// The audit records' rule set: nulls and any text are fine, everything
// structural is not.
func TestRecordRules(t *testing.T) {
	var r request
	if err := Record.Decode([]byte(`{"update":null,"name":"\u001b[31m\u202e"}`), &r); err != nil {
		t.Fatalf("record refused: %v", err)
	}
	if r.Name != "\x1b[31m\u202e" {
		t.Fatalf("name %q", r.Name)
	}
	for _, body := range []string{`{"name":"a","name":"b"}`, `{"NAME":"a"}`, `{"name":"\udc00"}`, `{}x`} {
		if err := Record.Decode([]byte(body), &r); err == nil {
			t.Errorf("record %s accepted", body)
		}
	}
}

func TestDecodeValues(t *testing.T) {
	var r request
	body := `{"group_id":"g","actor":"a","name":"caf\u00e9 \ud83d\ude00","members":["x","y"],"count":7,"update":"u","labels":{"k":"v"}}`
	if err := Decode([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.GroupID != "g" || r.Actor != "a" || r.Name != "café 😀" || len(r.Members) != 2 || r.Count != 7 || *r.Update != "u" || r.Labels["k"] != "v" {
		t.Fatalf("decoded %+v", r)
	}
}

func TestFieldRules(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"name ok", Name("name", "Ünïcode 名前", 256), ""},
		{"name tab", Name("name", "a\tb", 256), "name: holds U+0009"},
		{"name newline", Name("name", "a\nb", 256), "name: holds U+000A"},
		{"name length in characters", Name("name", strings.Repeat("é", 256), 256), ""},
		{"name too long", Name("name", strings.Repeat("é", 257), 256), "name: longer than 256 characters"},
		{"name invalid UTF-8", Name("name", "a\xffb", 256), "name: invalid UTF-8"},
		{"name real U+FFFD", Name("name", "a\uFFFDb", 256), ""},
		{"text newline", Text("intro", "a\n\tb", 10), ""},
		{"text NUL", Text("intro", "a\x00", 10), "intro: holds U+0000"},
		{"text LRM", Text("intro", "\u200e", 10), "intro: holds U+200E"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.want == "" && c.err != nil:
				t.Fatalf("refused: %v", c.err)
			case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
				t.Fatalf("have %v, want %q", c.err, c.want)
			case c.err != nil && !errors.Is(c.err, events.ErrInvalidArgument):
				t.Fatalf("code %s", events.CodeOf(c.err))
			}
		})
	}
}

func TestRefusedSet(t *testing.T) {
	refused := map[rune]bool{0x7f: true, 0x200e: true, 0x200f: true, 0xfeff: true}
	for r := rune(0); r < 0x20; r++ {
		refused[r] = r != '\t' && r != '\n'
	}
	for r := rune(0x80); r <= 0x9f; r++ {
		refused[r] = true
	}
	for r := rune(0x202a); r <= 0x202e; r++ {
		refused[r] = true
	}
	for r := rune(0x2066); r <= 0x2069; r++ {
		refused[r] = true
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if Refused(r) != refused[r] {
			t.Fatalf("Refused(%U) = %v", r, Refused(r))
		}
	}
}

// FuzzDecode holds the pre-pass to encoding/json: whatever Decode accepts
// is valid JSON that encoding/json decodes without error, holds no
// duplicate or case-folded name (re-encoding the decoded value and
// decoding it again gives the same value), and is valid UTF-8.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"group_id":"g","actor":"a","name":"n"}`, `{"GROUP_ID":"b","group_id":"a"}`, `{"members":["a","b"]}`,
		`{"nested":{"items":[{"value":"x"}]}}`, `{"labels":{"a":"b"}}`, `{"name":"\ud83d\ude00\u0041"}`,
		`{"raw":[1,-2.5e3,true,false,{}]}`, `{"count":12}`, `{"at":"2026-01-02T03:04:05Z"}`, `{"group_id":"g"}}`,
		"{\"name\":\"\xff\"}", `{"name":"\u202e"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r request
		err := Decode(data, &r)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidArgument) {
				t.Fatalf("refusal with code %s: %v", events.CodeOf(err), err)
			}
			if strings.Contains(err.Error(), "json:") {
				t.Fatalf("message leaks parser internals: %q", err)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var generic map[string]any
		if err := json.Unmarshal(data, &generic); err != nil {
			t.Fatalf("accepted %q, encoding/json says %v", data, err)
		}
		for k := range generic {
			if k != "group_id" && k != "actor" && k != "command_id" && k != "name" && k != "members" && k != "count" &&
				k != "update" && k != "every" && k != "nested" && k != "labels" && k != "at" && k != "raw" && k != "Untagged" {
				t.Fatalf("accepted unknown member %q in %q", k, data)
			}
		}
		if !clean(generic) {
			t.Fatalf("accepted a null or a refused character in %q", data)
		}
	})
}

// clean walks a decoded JSON value for nulls and refused characters.
func clean(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		for _, r := range v {
			if Refused(r) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !clean(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !clean(k) || !clean(e) {
				return false
			}
		}
	}
	return true
}

var benchBody = []byte(`{"group_id":"g_0001234","actor":"user_42","command_id":"c-9f8e7d6c5b4a","name":"Weekend hiking club","members":["u1","u2","u3","u4"]}`)

// legacyDecode is the decoder the command path used before this package
// (json.Decoder, unknown fields disallowed, a Token call for trailing
// data): the baseline of BenchmarkDecode.
func legacyDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing data")
	}
	return nil
}

func BenchmarkDecode(b *testing.B) {
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r request
			if err := Decode(benchBody, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("legacy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r request
			if err := legacyDecode(benchBody, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
