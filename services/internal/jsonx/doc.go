// Package jsonx is Roster's hand-written JSON code: a strict lexer with one
// set of value readers (lexer.go, values.go), the writers of plain values
// (write.go) and of events (event.go, with RawPlain, the one-pass check
// that an event's data is already what json.Marshal writes), for the hot
// paths where hand-written code beats the best library by far
// (docs/adr/0074, 0114, 0115, measured in docs/performance.md): the audit
// sink's record decoder (one pass that is also the strict check a library
// would need first), the projector's KV member values, the commit and
// reply roster-groups writes for every command, and the job and request
// body of every webhook delivery. Commits are decoded by
// github.com/goccy/go-json (eventstore); everything else is encoding/json.
// It imports only the standard library and the events vocabulary.
//
// encoding/json stays the judge. Every reader reports false rather than
// guess: on anything but the plain shapes Roster itself writes (a
// surrogate escape, invalid UTF-8, a number with a fraction or exponent
// where an integer is expected, a key not known or in another case, a key
// twice, ...) the caller gives up and decodes with encoding/json, which
// then decides. A caller's fast path therefore never accepts what
// encoding/json refuses and decodes to the same value; each caller holds
// its own fast path to that with a fuzz target against encoding/json.
package jsonx
