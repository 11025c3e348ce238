package wire

import (
	"encoding/json"
	"reflect"
	"testing"
)

// filled is a Filler that counts its fast fills.
type filled struct {
	A     string   `json:"a"`
	B     []string `json:"b,omitempty"`
	fills int
}

func (f *filled) FillChecked(data []byte) bool {
	var n filled
	if !EachMember(data, func(name, value []byte) bool {
		var ok bool
		switch string(name) {
		case "a":
			n.A, ok = String(value)
		case "b":
			n.B, ok = Strings(value)
		}
		return ok
	}) {
		return false
	}
	n.fills = f.fills + 1
	*f = n
	return true
}

// Decode takes a Filler's fast path when it reads every value, falls back
// to encoding/json when it does not, and refuses what Check refuses
// before either runs.
func TestDecodeFiller(t *testing.T) {
	for _, tc := range []struct {
		body string
		fast bool
		ok   bool
	}{
		{`{"a":"x\u00e9\n","b":["1", "\ud83d\ude00"]}`, true, true},
		{` {"b":[],"a":""} `, true, true},
		{`{"\u0061":"x"}`, false, true},
		{`{"a":1}`, false, false},
		{`{"b":"x"}`, false, false},
		{`{"a":"x","a":"y"}`, false, false},
		{`{"A":"x"}`, false, false},
		{`{"a":null}`, false, false},
	} {
		var got filled
		err := Decode([]byte(tc.body), &got)
		if (err == nil) != tc.ok || (got.fills == 1) != tc.fast {
			t.Errorf("%s: err %v, fast %v; want ok %v, fast %v", tc.body, err, got.fills == 1, tc.ok, tc.fast)
			continue
		}
		if err != nil {
			continue
		}
		var want filled
		if err := json.Unmarshal([]byte(tc.body), &want); err != nil {
			t.Fatal(err)
		}
		got.fills, want.fills = 0, 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, encoding/json %#v", tc.body, got, want)
		}
	}
}
