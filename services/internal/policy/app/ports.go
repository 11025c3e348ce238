package app

import (
	"context"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
)

// HookStore keeps hooks durably. Implementations are safe for concurrent
// use, return entries with plaintext secrets (in memory only: at rest they
// are sealed when the store has a keyring) and report failures with
// hookrec's errors (ErrNotFound, ErrExists, ErrContention, ErrNoKey),
// wrapped. Revisions grow with every write. hooktest.Run is the contract
// every implementation passes.
type HookStore interface {
	// Create stores a new hook; ErrExists when the id is taken.
	Create(ctx context.Context, e hookrec.Entry) (rev uint64, err error)
	// Get returns a hook and its revision; ErrNotFound when absent.
	Get(ctx context.Context, id string) (hookrec.Entry, uint64, error)
	// List returns every hook in the order hooks are called: creation
	// time, then id (hookrec.Less).
	List(ctx context.Context) ([]hookrec.Entry, error)
	// Update applies fn to the current hook and writes the result if
	// nobody changed it meanwhile, calling fn again on a lost race
	// (ErrContention after a few). fn's error aborts the update and is
	// returned; hookrec.ErrNoChange writes nothing and returns the hook
	// with changed false and a nil error.
	Update(ctx context.Context, id string, fn func(*hookrec.Entry) error) (e hookrec.Entry, rev uint64, changed bool, err error)
	// Delete removes a hook and returns what it was (the version deleted,
	// should it change meanwhile); ErrNotFound when absent.
	Delete(ctx context.Context, id string) (hookrec.Entry, error)
}

// URLGuard vets a hook URL at registration: its shape, and every address
// its host resolves to against the SSRF guard and its allowlist. The
// error says why, without the URL's query (it may hold a token).
type URLGuard interface {
	CheckURL(ctx context.Context, raw string) error
}

// AuditRecorder stores audit records (audit.Recorder is the real one).
type AuditRecorder interface {
	// Record takes r for asynchronous storage, waiting while the buffer is
	// full; an error means r was not taken.
	Record(ctx context.Context, r audit.Record) error
	// RecordDurable returns nil only once r is stored; calling it again
	// after an error never makes a second row.
	RecordDurable(ctx context.Context, r audit.Record) error
}
