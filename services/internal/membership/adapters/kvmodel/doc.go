// Package kvmodel is the NATS KV adapter of the membership read model
// (app.ReadModel): one bucket per generation, the control bucket naming
// the active one, the projector's writes (members first, the info record
// last with a CAS), the rebuild's unacknowledged bulk writes, the shared
// info watch min_version waits park on, and the projection's status.
//
// Layout of one generation's bucket (ROSTER_MEMBERS_v<N>), see
// docs/projection.md:
//
//	g.<group>          GroupInfo   (written last for a commit: the commit point)
//	m.<group>.<user>   Member      (one key per member: a change writes one key)
//	u.<user>.<group>   UserGroup   (index for user_groups)
//
// The control bucket ROSTER_PROJECTION holds the key "active", naming the
// generation queries read and the projector writes, and the rebuild lock.
package kvmodel
