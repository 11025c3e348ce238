package ports

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster/events"
)

func TestParseCallers(t *testing.T) {
	p, err := ParseCallers(" A=trusted, B=bound ,C=bound:tag:Roster_Actor", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "A=trusted,B=bound,C=bound:tag:roster_actor"; got != want {
		t.Fatalf("policy %q, want %q", got, want)
	}
	if !p.TrustUnattested {
		t.Fatal("trust unattested lost")
	}
	for _, bad := range []string{"A", "=trusted", "A=admin", "A=bound:tag:", "A=trusted,A=bound"} {
		if _, err := ParseCallers(bad, false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Tag-bound accounts take the identity from a JWT user's tag (NATS
// lowercases tags); user-bound ones from the user name.
func TestAdmit(t *testing.T) {
	p, err := ParseCallers("APP=bound:tag:roster_actor,PEOPLE=bound,BACKEND=trusted", false)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, info, actor, refusal string
	}{
		{"tag matches", `{"acc":"APP","user":"UABC","tags":["team:x","roster_actor:alice"]}`, "Alice", ""},
		{"tag differs", `{"acc":"APP","user":"UABC","tags":["roster_actor:bob"]}`, "alice", `may act only as "bob"`},
		{"no tag", `{"acc":"APP","user":"UABC"}`, "alice", "tag roster_actor:<id>"},
		{"user matches", `{"acc":"PEOPLE","user":"alice"}`, "alice", ""},
		{"user is case-sensitive", `{"acc":"PEOPLE","user":"alice"}`, "Alice", "not the caller"},
		{"trusted", `{"acc":"BACKEND","user":"svc"}`, "anyone", ""},
		{"unlisted", `{"acc":"OTHER","user":"x"}`, "x", "may not send commands"},
		{"unreadable header", `not json`, "x", "no caller identity"},
		{"no header", ``, "x", "no caller identity"},
	}
	for _, c := range cases {
		err := p.Admit(withCaller(context.Background(), c.info), c.actor)
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refusal != "" && (events.CodeOf(err) != events.CodeForbidden || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s: want forbidden with %q, have %v", c.name, c.refusal, err)
		}
	}
	var none *Callers
	if err := none.Admit(context.Background(), "x"); err != nil {
		t.Fatalf("nil policy refused: %v", err)
	}
}
