// Package hookkv is the hook store on NATS KV: the bucket
// ROSTER_POLICY_HOOKS, one key per hook, every change a compare-and-set on
// the key's revision, secret values sealed with the webhook Keyring (ADRs
// 0055, 0087); and View, the in-memory hook source a KV watch keeps
// current for roster-groups, which only reads the bucket.
package hookkv

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/kvrecord/jskv"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store keeps hooks in the KV bucket: a kvrecord store (jskv.Store) of
// hookrec.Records, listed in call order (creation time, then id). With a
// Keyring, secret values are sealed in every record it writes and opened
// in every record it reads; the entries it returns hold plaintext
// secrets, in memory only.
type Store struct {
	*jskv.Store[hookrec.Entry]
}

// History is how many revisions of a hook the bucket keeps.
const History = 5

// Provision creates the bucket when missing and returns a Store that seals
// secrets with keys (nil: stores them in plaintext).
func Provision(ctx context.Context, js jetstream.JetStream, replicas int, keys *endpoint.Keyring) (*Store, error) {
	errs := kvrecord.Errors{NotFound: hookrec.ErrNotFound, Exists: hookrec.ErrExists, Contention: hookrec.ErrContention, NoChange: hookrec.ErrNoChange}
	s, err := jskv.Provision(ctx, js, jetstream.KeyValueConfig{
		Bucket:      hookrec.Bucket,
		Description: "Roster policy hooks (one key per hook id; values hold signing secrets, sealed)",
		History:     History,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}, hookrec.Records{Keys: keys}, errs)
	if err != nil {
		return nil, err
	}
	return &Store{Store: s}, nil
}
