//go:build ignore

package jsonbench

import (
	stdjson "encoding/json"
	"reflect"
	"testing"

	"github.com/mailru/easyjson"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/jsonbench/gen"
)

// Every candidate must give encoding/json's result on the benchmark
// payloads (bytes for encoders, values for decoders), or it would change
// behaviour.
func TestSameAsEncodingJSON(t *testing.T) {
	c := inviteCommit(t)
	want, _ := stdjson.Marshal(c)
	m, u := kvValues()
	wantM, _ := stdjson.Marshal(m)
	wantU, _ := stdjson.Marshal(u)
	cmd, _ := stdjson.Marshal(auditCommand())
	att, _ := stdjson.Marshal(auditAttempt())
	for _, l := range libs {
		if have, err := l.marshal(c); err != nil || string(have) != string(want) {
			t.Errorf("%s commit encode differs (%v):\n have %s\n want %s", l.name, err, have, want)
		}
		hm, _ := l.marshal(m)
		hu, _ := l.marshal(u)
		if string(hm) != string(wantM) || string(hu) != string(wantU) {
			t.Errorf("%s KV encode differs:\n have %s %s\n want %s %s", l.name, hm, hu, wantM, wantU)
		}
		var hc events.Commit
		if err := l.unmarshal(want, &hc); err != nil || !reflect.DeepEqual(hc, c) {
			t.Errorf("%s commit decode differs (%v)", l.name, err)
		}
		var hcmd audit.Command
		if err := l.unmarshal(cmd, &hcmd); err != nil || !reflect.DeepEqual(hcmd, auditCommand()) {
			t.Errorf("%s command decode differs (%v): %+v", l.name, err, hcmd)
		}
		var hatt audit.DeliveryAttempt
		if err := l.unmarshal(att, &hatt); err != nil || !reflect.DeepEqual(hatt, auditAttempt()) {
			t.Errorf("%s attempt decode differs (%v)", l.name, err)
		}
	}
	var gc gen.Commit
	if err := easyjson.Unmarshal(want, &gc); err != nil {
		t.Fatal(err)
	}
	if have, _ := easyjson.Marshal(gc); string(have) != string(want) {
		t.Errorf("easyjson commit encode differs:\n have %s\n want %s", have, want)
	}
	gm := gen.Member{GroupID: m.GroupID, UserID: m.UserID, Role: string(m.Role), JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion, Inviter: m.Inviter}
	if have, _ := easyjson.Marshal(gm); string(have) != string(wantM) {
		t.Errorf("easyjson KV encode differs:\n have %s\n want %s", have, wantM)
	}
	if hc, err := eventstore.DecodeCommit(want); err != nil || !reflect.DeepEqual(hc, c) {
		t.Errorf("roster commit decode differs (%v)", err)
	}
	hm, _ := appendMember(nil, "g-1", "d_e-F9", &kvMember)
	hu, _ := appendUserGroup(nil, "g-1", &kvMember)
	if string(hm) != string(wantM) || string(hu) != string(wantU) {
		t.Errorf("roster KV encode differs:\n have %s %s\n want %s %s", hm, hu, wantM, wantU)
	}
	if r, err := audit.DecodeRecord(audit.KindDeliveryAttempt, att); err != nil || !reflect.DeepEqual(r, auditAttempt()) {
		t.Errorf("roster attempt decode differs (%v)", err)
	}
}
