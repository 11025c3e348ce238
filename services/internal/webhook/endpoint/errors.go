package endpoint

import "errors"

// Bucket is the KV bucket holding endpoints, one key per endpoint id
// (public contract). Values carry secrets, sealed with the dispatcher's
// Keyring when one is configured (ADR 0055): still grant access to it only
// to the dispatcher.
const Bucket = "ROSTER_WEBHOOK_ENDPOINTS"

// Errors of an endpoint store (every implementation returns these, wrapped;
// compare with errors.Is).
var (
	ErrNotFound = errors.New("endpoint not found")
	ErrExists   = errors.New("endpoint already exists")
	// ErrContention: an update lost the compare-and-set race too often.
	ErrContention = errors.New("endpoint changed concurrently too often")
	// ErrNoChange may be returned by an update function to say the
	// endpoint is already as wanted; the store then writes nothing and
	// returns it unchanged.
	ErrNoChange = errors.New("no change")
	// ErrNoKey: a record holds sealed secrets but the store has no keyring.
	ErrNoKey = errors.New("webhook secret is sealed but no webhook secret key is configured")
)
