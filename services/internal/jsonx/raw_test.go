package jsonx

import (
	"bytes"
	"encoding/json"
	"testing"
)

// RawPlain may refuse what json.Marshal would write unchanged (the value
// then goes through json.Marshal), but what it accepts json.Marshal must
// accept and write byte for byte.
func rawPlainAgrees(t *testing.T, d []byte) {
	t.Helper()
	if !RawPlain(d) {
		return
	}
	out, err := json.Marshal(json.RawMessage(d))
	if err != nil || !bytes.Equal(out, d) {
		t.Fatalf("RawPlain accepted %q; json.Marshal writes %q, %v", d, out, err)
	}
}

func TestRawPlain(t *testing.T) {
	for _, d := range []string{
		`{}`, `[]`, `{"a":[1,-2,3.5,-0.25e+7,1E9,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"],"b":{"c":{}}}`, `"Zoë"`, `0`,
		"\"\xff\xfe\"", "\"\x7f\"",
	} {
		if !RawPlain([]byte(d)) {
			t.Errorf("RawPlain refused plain %q", d)
		}
		rawPlainAgrees(t, []byte(d))
	}
	for _, d := range []string{
		``, ` {}`, `{} `, `{"a": 1}`, `[1 ,2]`, "{\"a\":\n1}", `{"a":"<"}`, `"&"`, "\"\u2028\"", "\"\u2029\"", `01`, `1.`, `.5`, `-`, `1e`, `+1`,
		`{"a"}`, `{"a":1,}`, `[1,]`, `[`, `{`, `"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\tb\"", `tru`, `nul`, `{}{}`, `{1:2}`,
	} {
		if RawPlain([]byte(d)) {
			t.Errorf("RawPlain accepted %q", d)
		}
	}
	deep := bytes.Repeat([]byte("["), maxPlainDepth+2)
	deep = append(deep, bytes.Repeat([]byte("]"), maxPlainDepth+2)...)
	if RawPlain(deep) {
		t.Error("RawPlain accepted nesting past its depth bound")
	}
}

func FuzzRawPlain(f *testing.F) {
	for _, s := range []string{`{"user_id":"u1","role":"member","join_source":2}`, `[1,2.5e-3,"\u2028",null]`, `{"a":{"b":[true,false]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) { rawPlainAgrees(t, d) })
}
