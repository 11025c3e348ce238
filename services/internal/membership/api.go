package membership

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/membership/ports"
)

// The public names of the membership read side, kept here so that callers
// (rosterd, the CLI, rosterbench, the fault suite) import one package. They
// are defined where they belong: the wire types in app, the subjects in
// ports, the NATS object names in adapters/kvmodel.

// Query subjects and the micro service name (public contract).
const (
	ServiceName       = ports.ServiceName
	SubjectGroup      = ports.SubjectGroup
	SubjectMembers    = ports.SubjectMembers
	SubjectMember     = ports.SubjectMember
	SubjectUserGroups = ports.SubjectUserGroups
	SubjectChanges    = ports.SubjectChanges
	DefaultPageSize   = app.DefaultPageSize
	MaxPageSize       = app.MaxPageSize
)

// Bounds on min_version (docs/adr/0051-bounded-waits-and-header-caps.md).
const (
	MaxMinVersion          = app.MaxMinVersion
	DefaultMaxVersionAhead = app.DefaultMaxVersionAhead
	DefaultMaxWaiting      = app.DefaultMaxWaiting
)

// Request and reply bodies of roster-query, and the records they carry.
type (
	GroupInfo         = app.GroupInfo
	Member            = app.Member
	UserGroup         = app.UserGroup
	GroupRequest      = app.GroupRequest
	MembersRequest    = app.MembersRequest
	MembersReply      = app.MembersReply
	MemberRequest     = app.MemberRequest
	MemberReply       = app.MemberReply
	UserGroupsRequest = app.UserGroupsRequest
	UserGroupsReply   = app.UserGroupsReply
	ChangesRequest    = app.ChangesRequest
	ChangesReply      = app.ChangesReply
)

// Names of the projection's NATS objects (public contract).
const (
	ControlBucket = kvmodel.ControlBucket
	BucketPrefix  = kvmodel.BucketPrefix
	DurablePrefix = kvmodel.DurablePrefix
)

// BucketName is the KV bucket of generation gen.
func BucketName(gen uint64) string { return kvmodel.BucketName(gen) }

// DurableName is the durable consumer feeding generation gen.
func DurableName(gen uint64) string { return kvmodel.DurableName(gen) }

// ErrNoGeneration means no projector has initialised the read model yet.
var ErrNoGeneration = app.ErrNoGeneration

// The projection's generations, bucket options and status.
type (
	Generation       = kvmodel.Generation
	StoreConfig      = kvmodel.StoreConfig
	Status           = kvmodel.Status
	RebuildingStatus = kvmodel.RebuildingStatus
)

// ReadStatus reads the projection's status from NATS; it needs no projector
// process, so `roster status` and the metrics poller share it.
func ReadStatus(ctx context.Context, js jetstream.JetStream) (Status, error) {
	return kvmodel.ReadStatus(ctx, js)
}
