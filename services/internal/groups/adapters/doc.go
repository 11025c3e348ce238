// Package adapters implements roster-groups' storage ports (groups/app):
// the JetStream event store wrapped so that a too-large append is named
// (EventStore), the ROSTER_SNAPSHOTS object store (ObjectSnapshots) and an
// in-memory snapshot store (MemorySnapshots) for tests and for running
// without snapshots on disk. Each passes its port's contract suite
// (eventstore/storetest, app/snapshottest).
package adapters
