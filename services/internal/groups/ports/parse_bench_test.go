package ports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"syscall"
	"testing"
	"time"

	goccy "github.com/goccy/go-json"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/groups/app"
)

// legacyDecode is the decoder the command path used before events/wire
// (json.Decoder with unknown fields disallowed and a Token call for
// trailing data): the baseline of BenchmarkParseCommand.
func legacyDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data")
	}
	return nil
}

var benchCommands = map[string][]byte{
	"member.invite": []byte(`{"group_id":"g_0001234","actor":"user_42","command_id":"c-9f8e7d6c5b4a","user_ids":["u1","u2","u3","u4","u5"]}`),
	"group.create":  []byte(`{"group_id":"g_0001234","actor":"user_42","command_id":"c-9f8e7d6c5b4a","name":"Weekend hiking club","intro":"We walk.\nEvery Saturday.","join_policy":"approval"}`),
}

// BenchmarkParseCommand: the command path's parse (decode and field
// checks) against the decode it replaced. "legacy" decodes only; "parse"
// is the real parser, decode and every field rule.
func BenchmarkParseCommand(b *testing.B) {
	for name, body := range benchCommands {
		b.Run(name+"/legacy-decode", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				var r createRequest
				if name == "member.invite" {
					var u reasonUsersRequest
					if err := legacyDecode(body, &u); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if err := legacyDecode(body, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		if name == "member.invite" {
			// The strict decode as it was before the body filled itself
			// (wire.Filler): the pre-pass, then encoding/json.
			b.Run(name+"/check+encoding-json", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					var u reasonUsersRequest
					if err := wire.Request.Check(body, reflect.TypeOf(&u)); err != nil {
						b.Fatal(err)
					}
					if err := json.Unmarshal(body, &u); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/wire-decode", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					var u reasonUsersRequest
					if err := wire.Decode(body, &u); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(name+"/parse", func(b *testing.B) {
			b.ReportAllocs()
			parse := parsers[name]
			for b.Loop() {
				if _, err := parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchReply is the reply of an accepted one-user invite.
func benchReply(b testing.TB) *app.Reply {
	data, err := json.Marshal(events.MemberInvitedData{UserID: "bench-user", Inviter: "owner"})
	if err != nil {
		b.Fatal(err)
	}
	return &app.Reply{GroupID: "bench-000123", Version: 42, CommandID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Events: []events.Event{{
		ID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", Type: events.MemberInvited, SchemaVersion: 2, GroupID: "bench-000123", Version: 42,
		OccurredAt: time.Date(2026, 12, 2, 1, 2, 3, 456789000, time.UTC), CommandID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		CorrelationID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Actor: "owner", Data: data}}}
}

// BenchmarkEncodeReply: the success reply's encoder against the goccy
// encoder it replaced and encoding/json, whose bytes both write.
func BenchmarkEncodeReply(b *testing.B) {
	r := benchReply(b)
	for _, enc := range []struct {
		name string
		fn   func(any) ([]byte, error)
	}{
		{"roster", func(any) ([]byte, error) { return encodeReply(r) }},
		{"goccy", goccy.Marshal},
		{"encoding-json", json.Marshal},
	} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := enc.fn(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU reports cpu-ns/op, the process's user and system CPU per
// iteration (garbage collection included): on a shared machine the wall
// time follows the other load, the CPU time much less. Call its result
// when the loop has ended (defer reportCPU(b)()).
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op") }
}
