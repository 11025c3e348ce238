// Package eventstore stores groups' commits in the JetStream stream
// ROSTER_EVENTS, one subject per group (roster.events.<group_id>), with
// optimistic concurrency on the subject's last sequence, and is the one
// reader of what it stores:
//
//   - Provision creates or checks the stream (stream.go).
//   - Store.Append writes a commit message: json.Marshal of events.Commit
//     with the headers of headers.go (store.go).
//   - Store.Load and Store.Get read a group's commits for a command
//     without creating consumers: the head of a group from the stream
//     leader, the commits before it in batched direct gets from any
//     replica, checked against that head (read.go, docs/adr/0006).
//   - Store.Read reads a range of the log, one group's or every group's,
//     from a sequence or a time to a sequence, the end or (Follow) on,
//     through an ordered consumer deleted when the read ends
//     (rangeread.go): history queries, replay, redelivery.
//   - Decode, DecodeAsStored and DecodeCommit turn a stored commit message
//     (body and headers) into events.Commit, upcast or as stored, for
//     every reader including those with consumers of their own (the
//     projector, the webhook fan-out, the audit sink); a fast path reads
//     exactly what Append writes (decode.go, fastdecode.go,
//     docs/adr/0073).
//
// Package storetest is the contract of the store as the command side uses
// it.
package eventstore
