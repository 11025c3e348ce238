//go:build !slow

package membership

// rebuildEquivalenceEvents is the stream TestRebuildEqualsLiveProjection
// rebuilds: the same code paths at a tenth of the size without the slow
// tag, so "go test" stays quick (docs/adr/0057).
const rebuildEquivalenceEvents = 10_000
