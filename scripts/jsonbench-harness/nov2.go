//go:build ignore && !goexperiment.jsonv2

package jsonbench

import (
	"testing"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership"
)

// Without GOEXPERIMENT=jsonv2 there is no encoding/json/v2 to measure.
func benchV2CommitDecode(*testing.B, []byte)                              {}
func benchV2CommitEncode(*testing.B, events.Commit)                       {}
func benchV2KVEncode(*testing.B, membership.Member, membership.UserGroup) {}
func benchV2AuditDecode(*testing.B, []byte, func() any, func(any) error)  {}
