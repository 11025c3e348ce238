package jsonlex_test

import (
	"testing"

	"github.com/rosterhq/roster/events/jsonlex"
)

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
			l := jsonlex.Lexer{Data: []byte(tt.in)}
			have, ok := l.RawString()
			if ok != tt.ok || string(have) != tt.want {
				t.Fatalf("want %q %v, have %q %v", tt.want, tt.ok, have, ok)
			}
		})
	}
}

func TestSpaceConsumeLiteral(t *testing.T) {
	l := jsonlex.Lexer{Data: []byte(" \t\n{ true ,null}")}
	l.Space()
	if !l.Consume('{') || l.Consume('{') {
		t.Fatal("consume")
	}
	l.Space()
	if l.Literal("false") || !l.Literal("true") {
		t.Fatal("literal true")
	}
	l.Space()
	if !l.Consume(',') || !l.Literal("null") || !l.Consume('}') || l.Pos != len(l.Data) {
		t.Fatalf("end at %d of %d", l.Pos, len(l.Data))
	}
	if l.Literal("x") || l.Consume('x') {
		t.Fatal("read past the end")
	}
}
