//go:build ignore && goexperiment.jsonv2

package jsonbench

import (
	jsonv2 "encoding/json/v2"
	"testing"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership"
)

func benchV2CommitDecode(b *testing.B, in []byte) {
	b.Run("encoding/json/v2", func(b *testing.B) {
		measure(b, func() {
			var c events.Commit
			if err := jsonv2.Unmarshal(in, &c); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func benchV2CommitEncode(b *testing.B, c events.Commit) {
	b.Run("encoding/json/v2", func(b *testing.B) {
		measure(b, func() {
			if _, err := jsonv2.Marshal(c); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func benchV2KVEncode(b *testing.B, m membership.Member, u membership.UserGroup) {
	b.Run("encoding/json/v2", func(b *testing.B) {
		measure(b, func() {
			if _, err := jsonv2.Marshal(m); err != nil {
				b.Fatal(err)
			}
			if _, err := jsonv2.Marshal(u); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func benchV2AuditDecode(b *testing.B, data []byte, fresh func() any, validate func(any) error) {
	b.Run("encoding/json/v2", func(b *testing.B) {
		measure(b, func() {
			v := fresh()
			if err := jsonv2.Unmarshal(data, v); err != nil {
				b.Fatal(err)
			}
			if err := validate(v); err != nil {
				b.Fatal(err)
			}
		})
	})
}
