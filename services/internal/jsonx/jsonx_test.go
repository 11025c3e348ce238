package jsonx_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/jsonx"
)

func lex(s string) *jsonx.Lexer { return &jsonx.Lexer{Data: []byte(s)} }

func TestRawString(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", `"abc"`, "abc", true},
		{"empty", `""`, "", true},
		{"escape", `"a\"b"`, "", false},
		{"control", "\"a\tb\"", "", false},
		{"non-ascii", `"é"`, "", false},
		{"unterminated", `"abc`, "", false},
		{"not a string", `abc`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have, ok := lex(tt.in).RawString()
			if ok != tt.ok || string(have) != tt.want {
				t.Fatalf("want %q %v, have %q %v", tt.want, tt.ok, have, ok)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", `"abc"`, "abc", true},
		{"escapes", `"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", true},
		{"unicode escape", `"\u00e9\u2028x"`, "é\u2028x", true},
		{"UTF-8", `"línea ☃"`, "línea ☃", true},
		{"invalid UTF-8", "\"a\xffb\"", "", false},
		{"invalid UTF-8 after an escape", "\"\\n\xff\"", "", false},
		{"surrogate pair", `"\ud83d\ude00"`, "", false},
		{"bad escape", `"\x"`, "", false},
		{"short unicode escape", `"\u00e"`, "", false},
		{"control", "\"a\nb\"", "", false},
		{"unterminated", `"abc\"`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have, ok := lex(tt.in).String()
			if ok != tt.ok || have != tt.want {
				t.Fatalf("want %q %v, have %q %v", tt.want, tt.ok, have, ok)
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		in      string
		uint    uint64
		uintOK  bool
		int32   int64
		int32OK bool
	}{
		{"0", 0, true, 0, true},
		{"42", 42, true, 42, true},
		{"-7", 0, false, -7, true},
		{"18446744073709551615", math.MaxUint64, true, 0, false},
		{"18446744073709551616", 0, false, 0, false},
		{"2147483648", 2147483648, true, 0, false},
		{"01", 0, false, 0, false},
		{"1.0", 0, false, 0, false},
		{"1e3", 0, false, 0, false},
		{"-", 0, false, 0, false},
		{"x", 0, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, ok := lex(tt.in).Uint()
			if ok != tt.uintOK || ok && u != tt.uint {
				t.Fatalf("Uint: want %d %v, have %d %v", tt.uint, tt.uintOK, u, ok)
			}
			i, ok := lex(tt.in).Int(32)
			if ok != tt.int32OK || ok && i != tt.int32 {
				t.Fatalf("Int(32): want %d %v, have %d %v", tt.int32, tt.int32OK, i, ok)
			}
		})
	}
}

func TestBoolAndTime(t *testing.T) {
	if v, ok := lex("true").Bool(); !v || !ok {
		t.Fatal("true")
	}
	if v, ok := lex("false").Bool(); v || !ok {
		t.Fatal("false")
	}
	if _, ok := lex("null").Bool(); ok {
		t.Fatal("null read as a bool")
	}
	want := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.FixedZone("", 3600))
	have, ok := lex(`"2026-03-04T05:06:07.891011121+01:00"`).Time()
	if !ok || !have.Equal(want) {
		t.Fatalf("want %s, have %s %v", want, have, ok)
	}
	if _, ok := lex(`"yesterday"`).Time(); ok {
		t.Fatal("bad time read")
	}
}

func TestSpaceConsumeLiteralEnd(t *testing.T) {
	l := lex(" \t\n{ true ,null} ")
	l.Space()
	if !l.Consume('{') || l.Consume('{') {
		t.Fatal("consume")
	}
	l.Space()
	if l.Literal("false") || !l.Literal("true") {
		t.Fatal("literal true")
	}
	l.Space()
	if !l.Consume(',') || !l.Literal("null") || !l.Consume('}') || !l.End() {
		t.Fatalf("end at %d of %d", l.Pos, len(l.Data))
	}
	if l.Literal("x") || l.Consume('x') {
		t.Fatal("read past the end")
	}
}

func TestObject(t *testing.T) {
	f := jsonx.NewFields("a", "b")
	tests := []struct {
		name, in string
		want     []int
		ok       bool
	}{
		{"empty", `{}`, nil, true},
		{"both, any order, spaced", ` { "b" : 1 , "a":2 } `, []int{1, 0}, true},
		{"unknown name", `{"c":1}`, nil, false},
		{"other case", `{"A":1}`, nil, false},
		{"twice", `{"a":1,"a":2}`, []int{0}, false},
		{"trailing comma", `{"a":1,}`, []int{0}, false},
		{"not an object", `[1]`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lex(tt.in)
			var have []int
			ok := l.Object(f, func(i int) bool {
				have = append(have, i)
				_, ok := l.Int(64)
				return ok
			})
			if ok != tt.ok || len(have) != len(tt.want) {
				t.Fatalf("want %v %v, have %v %v", tt.want, tt.ok, have, ok)
			}
			for i := range have {
				if have[i] != tt.want[i] {
					t.Fatalf("want %v, have %v", tt.want, have)
				}
			}
		})
	}
}

// Whatever String accepts, encoding/json decodes to the same string.
func FuzzString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"\u00e9\n\"\\"`, "\"\xff\"", `"\ud83d"`, `"é☃"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := jsonx.Lexer{Data: b}
		have, ok := l.String()
		if !ok || !l.End() {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("String accepted what encoding/json refuses (%v): %q", err, b)
		}
		if have != want {
			t.Fatalf("%q: String %q, encoding/json %q", b, have, want)
		}
	})
}

// Verbatim is exactly the set of strings json.Marshal writes unchanged.
func FuzzVerbatim(f *testing.F) {
	for _, s := range []string{"abc", "é☃", "a\u2028", "\xff", "<", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		have, ok := jsonx.AppendVerbatim(nil, s)
		if ok != (string(want) == `"`+s+`"`) || ok && string(have) != string(want) {
			t.Fatalf("%q: json.Marshal %s, AppendVerbatim %s %v", s, want, have, ok)
		}
	})
}

func TestWriters(t *testing.T) {
	for _, s := range []string{"abc", "a-b_C9", "", "a<b", "a\"b", "é", "a\u2028", "a&b", "\x7f"} {
		want, _ := json.Marshal(s)
		have, ok := jsonx.AppendPlain(nil, s)
		if ok != jsonx.Plain(s) || ok && string(have) != string(want) {
			t.Fatalf("%q: want %s, have %s %v", s, want, have, ok)
		}
		// Plain may refuse more than it must (é), never less.
		if jsonx.Plain(s) && string(want) != `"`+s+`"` {
			t.Fatalf("%q: Plain but json.Marshal writes %s", s, want)
		}
	}
	for _, s := range []string{"abc", "", "Café 名前 😀", "a<b", "a\"b", "a\\b", "a\nb", "a\u2028", "a\u2029b", "a&b", "\x7f", "\xff", "a\xc3", "\ufffd"} {
		want, _ := json.Marshal(s)
		have, ok := jsonx.AppendVerbatim(nil, s)
		if ok != jsonx.Verbatim(s) || ok && string(have) != string(want) {
			t.Fatalf("%q: want %s, have %s %v", s, want, have, ok)
		}
		if jsonx.Verbatim(s) != (string(want) == `"`+s+`"`) {
			t.Fatalf("%q: Verbatim %v but json.Marshal writes %s", s, jsonx.Verbatim(s), want)
		}
	}
	for _, at := range []time.Time{
		time.Date(2026, 3, 4, 5, 6, 7, 891011120, time.UTC),
		time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("x", -5400)),
		{},
	} {
		want, _ := json.Marshal(at)
		have, ok := jsonx.AppendTime(nil, at)
		if !ok || string(have) != string(want) {
			t.Fatalf("want %s, have %s %v", want, have, ok)
		}
	}
	if _, ok := jsonx.AppendTime(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Fatal("wrote a year json.Marshal refuses")
	}
}
