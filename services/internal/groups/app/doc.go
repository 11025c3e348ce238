// Package app is roster-groups' application layer: the one use case,
// execute a group command (execute.go), and what it needs around the pure
// domain of events/group: the repository that loads a group and appends
// its commits under optimistic concurrency (repository.go), the audit trail
// of every outcome (audit.go), and the small interfaces it owns for the
// outside world (ports.go) that the adapters and the NATS port implement.
//
// Nothing here speaks NATS: the port (groups/ports) decodes requests into
// a Command and maps a Result to the wire; the adapters (groups/adapters)
// store snapshots and wrap the JetStream event store.
package app
