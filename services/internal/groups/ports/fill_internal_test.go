package ports

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/rosterhq/roster/events/wire"
)

// fillerCases are bodies for the fillers beyond the corpus: escapes in
// names and values, surrogate pairs, whitespace everywhere, empty and
// wrongly typed values.
var fillerCases = []string{
	`{"group_id":"g1","actor":"a","user_ids":["u1","u2"],"reason":"x"}`,
	` { "group_id" : "g1" , "actor" :"a", "user_ids" : [ "u1" , "u2" ] } `,
	"{\n\t\"group_id\":\"g1\",\r\n\"actor\":\"a\",\"user_ids\":[]}",
	`{"group_id":"g\u0031","actor":"a\/b","user_ids":["\ud83d\ude00","\u00e9\n"],"reason":"line\nnext \"q\" \\ \u2028"}`,
	`{"group\u005fid":"g1","actor":"a","user_ids":["u1"]}`,
	`{"group_id":"g1","actor":"a","user_ids":"u1"}`,
	`{"group_id":1,"actor":"a","user_ids":["u1"]}`,
	`{"group_id":"g1","actor":"a","user_ids":[1,"u2"]}`,
	`{"group_id":"g1","actor":"a","user_ids":[["u1"]]}`,
	`{"group_id":"g1","actor":"a","user_ids":[{"a":"b"}]}`,
	`{"group_id":"g1","actor":true,"user_ids":["u1"]}`,
	`{"group_id":"g1","actor":"a","user_id":"u1"}`,
	`{"group_id":"g1","actor":"a","user_id":{}}`,
	`{"group_id":"g1","actor":"a","command_id":"c1"}`,
	`{"group_id":"","actor":"","command_id":""}`,
	`{}`,
	`{"group_id":"g1","actor":"a","user_ids":["u1"],"reason":""}`,
	`{"group_id":"日本","actor":"é","user_ids":["ü"],"reason":"ÿ€"}`,
	`{"group_id":"g1","actor":"a","user_ids":["u1"],"reason":123}`,
	`{"group_id":"g1","actor":"a","user_ids":["u1"],"reason":"a"} `,
}

// fillerTargets makes a fresh value of every Filler request type.
var fillerTargets = []func() any{
	func() any { return new(plainRequest) },
	func() any { return new(userRequest) },
	func() any { return new(reasonUsersRequest) },
}

// checkFiller holds one body to the fillers' contract: wire.Decode (the
// fast path) ends exactly as the pre-pass plus encoding/json did, with the
// same fields or the same error, and a FillChecked that answers true fills
// what encoding/json fills.
func checkFiller(t *testing.T, body []byte) {
	for _, mk := range fillerTargets {
		fast, slow := mk(), mk()
		fastErr := wire.Decode(body, fast)
		slowErr := wire.Request.Check(body, reflect.TypeOf(slow))
		if slowErr == nil {
			if err := json.Unmarshal(body, slow); err != nil {
				// What wire.Decode returns for a failed decode: compare
				// by the message only.
				slowErr = errors.New("decode failed")
				if fastErr == nil {
					t.Fatalf("%T %q: the fast path accepts what encoding/json refuses (%v)", fast, body, err)
				}
				continue
			}
		}
		if (fastErr == nil) != (slowErr == nil) || fastErr != nil && fastErr.Error() != slowErr.Error() {
			t.Fatalf("%T %q: fast %v, encoding/json %v", fast, body, fastErr, slowErr)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T %q: fast %#v, encoding/json %#v", fast, body, fast, slow)
		}
		if slowErr != nil {
			continue
		}
		filled := mk()
		if filled.(wire.Filler).FillChecked(body) && !reflect.DeepEqual(filled, slow) {
			t.Fatalf("%T %q: FillChecked %#v, encoding/json %#v", filled, body, filled, slow)
		}
	}
}

func fillerSeeds(t testing.TB) [][]byte {
	corpus := struct{ Commands []corpusCase }{loadCommandCorpus(t)}
	var seeds [][]byte
	for _, c := range fillerCases {
		seeds = append(seeds, []byte(c))
	}
	for _, c := range corpus.Commands {
		if c.BodyBase64 == "" {
			seeds = append(seeds, []byte(c.Body))
		}
	}
	return seeds
}

func TestFillersAgreeWithEncodingJSON(t *testing.T) {
	for _, b := range fillerSeeds(t) {
		checkFiller(t, b)
	}
	// The common bodies take the fast path (they would pass the above by
	// falling back too).
	for _, body := range []string{fillerCases[0], fillerCases[1], fillerCases[3]} {
		var r reasonUsersRequest
		if !r.FillChecked([]byte(body)) {
			t.Errorf("%q: FillChecked fell back", body)
		}
	}
	var u userRequest
	if !u.FillChecked([]byte(fillerCases[11])) || u.UserID != "u1" {
		t.Errorf("userRequest: FillChecked fell back or missed user_id: %#v", u)
	}
}

func FuzzFillersAgreeWithEncodingJSON(f *testing.F) {
	for _, b := range fillerSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFiller(t, body) })
}
