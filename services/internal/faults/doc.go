// Package faults holds Roster's fault suite: every service runs as a real
// rosterd process (two groups, two dispatchers, a projector, a query service
// and an audit sink) against a standalone nats-server and against a 3-node
// JetStream cluster with R3 streams, under load, while the suite kills and
// restarts each service and the server that leads ROSTER_EVENTS. It then
// checks what docs/operations.md promises: no acknowledged command lost or
// applied twice, gapless versions, a projection equal to the fold of the
// stream, every event delivered to every endpoint, complete audit tables
// and a bounded number of consumers on ROSTER_EVENTS.
//
// The suite takes minutes, so its files carry the build tag "slow" (docs/adr/0057):
// "go test ./..." skips the package, scripts/test runs it with -tags slow,
// and by hand "go test -tags slow ./services/internal/faults/" runs the CI
// variant; ROSTER_SOAK=<duration> adds the soak (more load, random kills
// for that long). The package has no non-test code.
package faults
