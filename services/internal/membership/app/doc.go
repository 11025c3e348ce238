// Package app is the membership read side's application layer: one use
// case per file (the roster-query queries, the projector's fold and store)
// and the small interfaces they need, which the adapters implement:
//
//   - ReadModel (readmodel.go): one generation of the read model, what the
//     projector writes and the queries read; adapters/kvmodel is the NATS
//     KV one, adapters/memmodel an in-memory one for fast tests; both pass
//     readmodeltest.Run.
//   - Models (readmodel.go): the generation queries answer from.
//   - History (history.go): a group's commits in ROSTER_EVENTS, for
//     incremental sync and point-in-time views; adapters/jsevents reads it.
//   - a clockwork.Clock for every wait.
//
// Nothing here imports NATS: the ports (roster-query on natsx/edge) call
// these use cases, and the wiring in package membership plugs the adapters
// in.
package app
