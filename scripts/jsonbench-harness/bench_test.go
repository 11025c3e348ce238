//go:build ignore

package jsonbench

import (
	stdjson "encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	goccy "github.com/goccy/go-json"
	"github.com/mailru/easyjson"
	segjson "github.com/segmentio/encoding/json"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/jsonbench/gen"
)

var at = time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)

// inviteCommit is a commit as the event store writes it for an invite of
// two users (the commit BenchmarkDecodeCommit has always used).
func inviteCommit(t testing.TB) events.Commit {
	st := group.New("g-1")
	cmds := []group.Command{
		group.Create{Name: "n", Intro: "x", JoinPolicy: events.PolicyApproval, Members: []string{"a", "b"}},
		group.Invite{UserIDs: []string{"c", "d_e-F9"}},
	}
	var c events.Commit
	for i, cmd := range cmds {
		changes, err := group.Decide(st, "owner", cmd, at)
		if err != nil {
			t.Fatal(err)
		}
		c = events.Commit{CommandID: "0f8e2c1a-5b7d-4e9f-8a6b-3c2d1e0f9a8b", Command: cmd.Kind(), GroupID: st.ID}
		for j, ch := range changes {
			data, err := stdjson.Marshal(ch.Data)
			if err != nil {
				t.Fatal(err)
			}
			e := events.Event{ID: "01JNQ7Z8K3M4P5R6S7T8V9W0XY", Type: ch.Type, SchemaVersion: events.SchemaVersions[ch.Type], GroupID: st.ID,
				Version: st.Version + uint64(j) + 1, OccurredAt: at.Add(time.Duration(i) * time.Second), CommandID: c.CommandID,
				CorrelationID: "corr-7", Actor: "owner", Data: data}
			c.Events = append(c.Events, e)
		}
		for _, e := range c.Events {
			if _, err := st.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

func commitBody(t testing.TB) []byte {
	b, err := stdjson.Marshal(inviteCommit(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var kvMember = group.Member{Role: events.RoleMember, JoinedAt: at, JoinedVersion: 7, Inviter: "owner"}

func kvValues() (membership.Member, membership.UserGroup) {
	return membership.Member{GroupID: "g-1", UserID: "d_e-F9", Role: kvMember.Role, JoinedAt: kvMember.JoinedAt,
			JoinedVersion: kvMember.JoinedVersion, Inviter: kvMember.Inviter},
		membership.UserGroup{GroupID: "g-1", Role: kvMember.Role, JoinedAt: kvMember.JoinedAt, JoinedVersion: kvMember.JoinedVersion}
}

func auditCommand() audit.Command {
	return audit.Command{ID: "cmd-A-1", CommandID: "c1", Subject: "roster.cmd.member.invite", GroupID: "A", Actor: "owner",
		Outcome: "rejected", ErrorCode: "forbidden", ErrorMsg: "actor may not invite", LatencyUS: 850,
		ReceivedAt: at, PayloadHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", PayloadSize: 64}
}

func auditAttempt() audit.DeliveryAttempt {
	next := at.Add(time.Minute)
	return audit.DeliveryAttempt{ID: "att-ep1-1", EventID: "ev-1", EventType: "member.invited", GroupID: "A", EndpointID: "ep1",
		URL: "https://hooks.example.com/roster", Format: "openim", Attempt: 1, Trigger: "scheduled",
		RequestHeaders: map[string]string{"Content-Type": "application/json", "webhook-id": "ev-1", "webhook-timestamp": "1772611567"},
		RequestSize:    120, RequestHash: "cd34", ResponseStatus: 200,
		ResponseHeaders: map[string]string{"Content-Type": "text/plain"},
		ResponseBody:    `{"actionCode":0}Callback ok`, Success: false, FailureClass: "invalid_response",
		FailureMsg: "invalid character 'C' after top-level value", LatencyUS: 1200, StartedAt: at, NextAttemptAt: &next, State: "retrying"}
}

type codec struct {
	name      string
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

var libs = []codec{
	{"encoding/json", stdjson.Marshal, stdjson.Unmarshal},
	{"goccy/go-json", goccy.Marshal, goccy.Unmarshal},
	{"segmentio/encoding", segjson.Marshal, segjson.Unmarshal},
	{"sonic(ConfigStd)", sonic.ConfigStd.Marshal, sonic.ConfigStd.Unmarshal},
}

// ---- decoding a commit (projector, sink, webhook fan-out, loads) ----

func BenchmarkCommitDecode(b *testing.B) {
	in := commitBody(b)
	for _, l := range libs {
		b.Run(l.name, func(b *testing.B) {
			measure(b, func() {
				var c events.Commit
				if err := l.unmarshal(in, &c); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("easyjson", func(b *testing.B) {
		measure(b, func() {
			var c gen.Commit
			if err := easyjson.Unmarshal(in, &c); err != nil {
				b.Fatal(err)
			}
		})
	})
	benchV2CommitDecode(b, in)
	b.Run("roster", func(b *testing.B) {
		measure(b, func() {
			if _, err := eventstore.DecodeCommit(in); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// ---- encoding a commit (roster-groups' append) ----

func BenchmarkCommitEncode(b *testing.B) {
	c := inviteCommit(b)
	for _, l := range libs {
		b.Run(l.name, func(b *testing.B) {
			measure(b, func() {
				if _, err := l.marshal(c); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	var gc gen.Commit
	if err := stdjson.Unmarshal(commitBody(b), &gc); err != nil {
		b.Fatal(err)
	}
	b.Run("easyjson", func(b *testing.B) {
		measure(b, func() {
			if _, err := easyjson.Marshal(gc); err != nil {
				b.Fatal(err)
			}
		})
	})
	benchV2CommitEncode(b, c)
}

// ---- encoding a member's two KV values (projector, rebuild) ----

func BenchmarkKVEncode(b *testing.B) {
	m, u := kvValues()
	for _, l := range libs {
		b.Run(l.name, func(b *testing.B) {
			measure(b, func() {
				if _, err := l.marshal(m); err != nil {
					b.Fatal(err)
				}
				if _, err := l.marshal(u); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	gm := gen.Member{GroupID: m.GroupID, UserID: m.UserID, Role: string(m.Role), JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion, Inviter: m.Inviter}
	gu := gen.UserGroup{GroupID: u.GroupID, Role: string(u.Role), JoinedAt: u.JoinedAt, JoinedVersion: u.JoinedVersion}
	b.Run("easyjson", func(b *testing.B) {
		measure(b, func() {
			if _, err := easyjson.Marshal(gm); err != nil {
				b.Fatal(err)
			}
			if _, err := easyjson.Marshal(gu); err != nil {
				b.Fatal(err)
			}
		})
	})
	benchV2KVEncode(b, m, u)
	b.Run("roster", func(b *testing.B) {
		measure(b, func() {
			if _, ok := appendMember(make([]byte, 0, 192), "g-1", "d_e-F9", &kvMember); !ok {
				b.Fatal("gave up")
			}
			if _, ok := appendUserGroup(make([]byte, 0, 128), "g-1", &kvMember); !ok {
				b.Fatal("gave up")
			}
		})
	})
}

// ---- decoding an audit record (the sink) ----

func BenchmarkAuditDecode(b *testing.B) {
	cmd, err := stdjson.Marshal(auditCommand())
	if err != nil {
		b.Fatal(err)
	}
	att, err := stdjson.Marshal(auditAttempt())
	if err != nil {
		b.Fatal(err)
	}
	for _, rec := range []struct {
		name  string
		kind  audit.Kind
		data  []byte
		fresh func() any
		gen   func() easyjson.Unmarshaler
	}{
		{"command", audit.KindCommand, cmd, func() any { return new(audit.Command) }, func() easyjson.Unmarshaler { return new(gen.Command) }},
		{"attempt", audit.KindDeliveryAttempt, att, func() any { return new(audit.DeliveryAttempt) }, func() easyjson.Unmarshaler { return new(gen.DeliveryAttempt) }},
	} {
		b.Run(rec.name, func(b *testing.B) {
			// What every candidate must do besides decoding: the sink
			// validates each record.
			validate := func(v any) error {
				return audit.Validate(reflect.ValueOf(v).Elem().Interface().(audit.Record))
			}
			for _, l := range libs {
				b.Run(l.name, func(b *testing.B) {
					measure(b, func() {
						v := rec.fresh()
						if err := l.unmarshal(rec.data, v); err != nil {
							b.Fatal(err)
						}
						if err := validate(v); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
			b.Run("easyjson", func(b *testing.B) {
				measure(b, func() {
					if err := easyjson.Unmarshal(rec.data, rec.gen()); err != nil {
						b.Fatal(err)
					}
				})
			})
			benchV2AuditDecode(b, rec.data, rec.fresh, validate)
			b.Run("strict(wire+encoding/json)", func(b *testing.B) {
				measure(b, func() {
					v := rec.fresh()
					if err := wire.Record.Decode(rec.data, v); err != nil {
						b.Fatal(err)
					}
					if err := validate(v); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("roster", func(b *testing.B) {
				measure(b, func() {
					if _, err := audit.DecodeRecord(rec.kind, rec.data); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}
