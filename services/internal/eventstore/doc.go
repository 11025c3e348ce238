// Package eventstore stores groups' commits in the JetStream stream
// ROSTER_EVENTS, one subject per group (roster.events.<group_id>), with
// optimistic concurrency on the subject's last sequence. It provisions the
// stream, appends commits, and reads a group's commits back without
// creating consumers: the head of a group from the stream leader, the
// commits before it in batched direct gets from any replica, checked
// against that head (docs/adr/0006). Package storetest is the contract of
// the store as the command side uses it.
package eventstore
