//go:build slow

package membership

// rebuildEquivalenceEvents is the stream TestRebuildEqualsLiveProjection
// rebuilds: production-sized under the slow tag (docs/adr/0057).
const rebuildEquivalenceEvents = 100_000
