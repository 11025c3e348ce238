// Package hookmem is an in-memory hook store for fast use-case tests. It
// keeps the contract of the NATS KV store (hooktest.Run): records are kept
// encoded, secrets sealed with the keyring, revisions grow store-wide, and
// its view is always current.
package hookmem

import (
	"context"

	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store is an in-memory app.HookStore: a kvrecord.Mem of hookrec.Records.
type Store struct {
	*kvrecord.Mem[hookrec.Entry]
}

// New returns an empty store that seals secrets with keys (nil: stored as
// given).
func New(keys *endpoint.Keyring) *Store {
	errs := kvrecord.Errors{NotFound: hookrec.ErrNotFound, Exists: hookrec.ErrExists, Contention: hookrec.ErrContention, NoChange: hookrec.ErrNoChange}
	return &Store{Mem: kvrecord.NewMem(hookrec.Records{Keys: keys}, errs)}
}

// ForCommand returns the hooks of command in call order, secrets opened:
// the store as a hook source, always current. A record that does not open
// is left out (the KV view keeps it without secrets; the in-memory store
// only ever holds what it sealed itself).
func (s *Store) ForCommand(command string) []hook.Hook {
	es, _ := s.List(context.Background())
	var out []hook.Hook
	for _, e := range es {
		if e.Hook.Command == command {
			out = append(out, e.Hook)
		}
	}
	return out
}

// Ready is always true: the store is its own view.
func (s *Store) Ready() bool { return true }
