// Package membership is Roster's membership read model: the projector that
// folds ROSTER_EVENTS into NATS KV with the domain's own fold
// (events/group.State.Apply), the roster-query micro service that answers
// from it, incremental sync and point-in-time views read from the event
// stream, event replay, and the rebuild that fills a fresh generation of the
// model and switches queries to it atomically.
//
// Layout of one generation's bucket (ROSTER_MEMBERS_v<N>), see
// docs/projection.md:
//
//	g.<group>          GroupInfo   (written last for a commit: the commit point)
//	m.<group>.<user>   Member      (one key per member: a change writes one key)
//	u.<user>.<group>   UserGroup   (index for user_groups)
//
// The control bucket ROSTER_PROJECTION holds the key "active", naming the
// generation queries read and the projector writes.
package membership
