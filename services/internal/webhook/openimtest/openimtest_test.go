package openimtest_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/webhook/openimtest"
)

// Decode is the judge of every openim body test: it must catch a missing
// key, an unknown key, an unknown command and a body without rosterEvent.
func TestDecodeCatchesEveryMismatch(t *testing.T) {
	const ev = `"rosterEvent":{"id":"e","type":"member.quit","group_id":"G","data":{}}`
	for _, tt := range []struct{ name, body, want string }{
		{"complete", `{"callbackCommand":"callbackAfterQuitGroupCommand","groupID":"G","userID":"u",` + ev + `}`, ""},
		{"missing key", `{"callbackCommand":"callbackAfterQuitGroupCommand","groupID":"G",` + ev + `}`, "keys missing: userID"},
		{"unknown key", `{"callbackCommand":"callbackAfterQuitGroupCommand","groupID":"G","userID":"u","operatorUserID":"o",` + ev + `}`, "unknown field"},
		{"old name", `{"callbackCommand":"callbackQuitGroupCommand","groupID":"G","userID":"u",` + ev + `}`, "neither"},
		{"no rosterEvent", `{"callbackCommand":"callbackAfterQuitGroupCommand","groupID":"G","userID":"u"}`, "no rosterEvent"},
		{"embedded keys", `{"callbackCommand":"callbackAfterCreateGroupCommand","groupID":"G","initMemberList":null,` + ev + `}`, "keys missing: groupName"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openimtest.Decode([]byte(tt.body))
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("want %q, have %v", tt.want, err)
			}
		})
	}
}
