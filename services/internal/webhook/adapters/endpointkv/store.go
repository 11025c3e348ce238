// Package endpointkv is the endpoint store on NATS KV: the bucket
// ROSTER_WEBHOOK_ENDPOINTS, one key per endpoint, every change a
// compare-and-set on the key's revision, secret values sealed with a
// Keyring (ADR 0055); and Cache, the in-memory view a KV watch keeps
// current for the fan-out and the workers.
package endpointkv

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/kvrecord/jskv"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store keeps endpoints in the KV bucket: a kvrecord store (jskv.Store)
// of endpoint.Records. Every change is a compare-and-set on the key's
// revision, so two writers never lose each other's changes. With a
// Keyring, secret values are sealed in every record it writes and opened
// in every record it reads; the Endpoints it returns hold plaintext
// secrets, in memory only.
type Store struct {
	*jskv.Store[endpoint.Endpoint]
	records endpoint.Records
}

// Provision creates the bucket when missing and returns a Store that seals
// secrets with keys (nil: stores them in plaintext).
func Provision(ctx context.Context, js jetstream.JetStream, replicas int, keys *endpoint.Keyring) (*Store, error) {
	errs := kvrecord.Errors{NotFound: endpoint.ErrNotFound, Exists: endpoint.ErrExists, Contention: endpoint.ErrContention, NoChange: endpoint.ErrNoChange}
	records := endpoint.Records{Keys: keys}
	s, err := jskv.Provision(ctx, js, jetstream.KeyValueConfig{
		Bucket:      endpoint.Bucket,
		Description: "Roster webhook endpoints (one key per endpoint id; values hold signing secrets)",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}, records, errs)
	if err != nil {
		return nil, err
	}
	return &Store{Store: s, records: records}, nil
}
