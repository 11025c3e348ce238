package ports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/rosterhq/roster/events/wire"
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
