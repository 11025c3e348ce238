// Package events is Roster's event vocabulary: the immutable membership
// events a group's stream is made of, their stable type names and schema
// versions, the envelope every event travels in, the commit that groups the
// events of one command, and the upcasters that lift events stored under an
// older schema version to the current one.
//
// The package is pure: no NATS, no clock, no I/O. Type names (for example
// "member.invited") are a public contract and never derive from Go type
// names, so Go code can be refactored without rewriting history.
package events
