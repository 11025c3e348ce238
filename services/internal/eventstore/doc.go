// Package eventstore stores groups' commits in the JetStream stream
// ROSTER_EVENTS, one subject per group (roster.events.<group_id>), with
// optimistic concurrency on the subject's last sequence. It provisions the
// stream, appends commits, and reads a group's commits back.
package eventstore
