package events

import "time"

// Role is a member's role. Levels follow OpenIM: owner 100, admin 60, member 20.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Level orders roles: a higher level may act on a lower one.
func (r Role) Level() int {
	switch r {
	case RoleOwner:
		return 100
	case RoleAdmin:
		return 60
	case RoleMember:
		return 20
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.Level() > 0 }

// JoinPolicy decides how users who are not members get in.
type JoinPolicy string

const (
	// PolicyOpen: anyone may join directly; any member may invite.
	PolicyOpen JoinPolicy = "open"
	// PolicyApproval: joining needs an owner's or admin's approval; any member may invite.
	PolicyApproval JoinPolicy = "approval"
	// PolicyInviteOnly: no join requests; only the owner and admins may invite.
	PolicyInviteOnly JoinPolicy = "invite_only"
)

// Valid reports whether p is a known policy.
func (p JoinPolicy) Valid() bool {
	return p == PolicyOpen || p == PolicyApproval || p == PolicyInviteOnly
}

// Current schema versions of each event's data. Bump one only together with
// an upcaster from the previous version (see upcast.go).
var SchemaVersions = map[Type]int{
	GroupCreated: 1, GroupUpdated: 1, GroupDismissed: 1, GroupOwnershipTransferred: 1,
	GroupMuted: 1, GroupUnmuted: 1, MemberInvited: 1, MemberJoined: 1, MemberJoinRequested: 1,
	MemberJoinApproved: 1, MemberJoinRejected: 1, MemberRemoved: 1, MemberQuit: 1,
	MemberRoleChanged: 1, MemberMuted: 2, MemberUnmuted: 1,
}

// GroupCreatedData: the group exists; Owner and Members are its first members.
type GroupCreatedData struct {
	Name       string     `json:"name"`
	Intro      string     `json:"intro,omitempty"`
	JoinPolicy JoinPolicy `json:"join_policy"`
	Owner      string     `json:"owner"`
	Members    []string   `json:"members,omitempty"`
}

// GroupUpdatedData carries only the fields that changed.
type GroupUpdatedData struct {
	Name       *string     `json:"name,omitempty"`
	Intro      *string     `json:"intro,omitempty"`
	JoinPolicy *JoinPolicy `json:"join_policy,omitempty"`
}

// GroupDismissedData: the group is closed for good; its members are released.
type GroupDismissedData struct{}

// GroupOwnershipTransferredData: To becomes owner; From becomes a member.
type GroupOwnershipTransferredData struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// GroupMutedData: only the owner and admins may speak.
type GroupMutedData struct{}

// GroupUnmutedData lifts a group mute.
type GroupUnmutedData struct{}

// MemberInvitedData: UserID became a member, invited by Inviter.
type MemberInvitedData struct {
	UserID  string `json:"user_id"`
	Inviter string `json:"inviter"`
}

// MemberJoinedData: UserID joined an open group directly.
type MemberJoinedData struct {
	UserID string `json:"user_id"`
}

// MemberJoinRequestedData: UserID asked to join an approval-policy group.
type MemberJoinRequestedData struct {
	UserID  string `json:"user_id"`
	Message string `json:"message,omitempty"`
}

// MemberJoinApprovedData: UserID's request was approved; UserID is a member.
type MemberJoinApprovedData struct {
	UserID   string `json:"user_id"`
	Approver string `json:"approver"`
}

// MemberJoinRejectedData: UserID's request was turned down.
type MemberJoinRejectedData struct {
	UserID   string `json:"user_id"`
	Rejecter string `json:"rejecter"`
	Reason   string `json:"reason,omitempty"`
}

// MemberRemovedData: UserID was removed (kicked) by By.
type MemberRemovedData struct {
	UserID string `json:"user_id"`
	By     string `json:"by"`
}

// MemberQuitData: UserID left of their own accord.
type MemberQuitData struct {
	UserID string `json:"user_id"`
}

// MemberRoleChangedData: UserID's role went from Previous to Role.
type MemberRoleChangedData struct {
	UserID   string `json:"user_id"`
	Role     Role   `json:"role"`
	Previous Role   `json:"previous"`
}

// MemberMutedData (schema version 2): UserID may not speak until Until.
// Version 1 stored a relative duration_seconds instead; see upcast.go.
type MemberMutedData struct {
	UserID string    `json:"user_id"`
	Until  time.Time `json:"until"`
}

// MemberUnmutedData lifts a member mute.
type MemberUnmutedData struct {
	UserID string `json:"user_id"`
}

// NewData returns a pointer to a zero value of t's current data type, or nil
// for an unknown type.
func NewData(t Type) any {
	switch t {
	case GroupCreated:
		return &GroupCreatedData{}
	case GroupUpdated:
		return &GroupUpdatedData{}
	case GroupDismissed:
		return &GroupDismissedData{}
	case GroupOwnershipTransferred:
		return &GroupOwnershipTransferredData{}
	case GroupMuted:
		return &GroupMutedData{}
	case GroupUnmuted:
		return &GroupUnmutedData{}
	case MemberInvited:
		return &MemberInvitedData{}
	case MemberJoined:
		return &MemberJoinedData{}
	case MemberJoinRequested:
		return &MemberJoinRequestedData{}
	case MemberJoinApproved:
		return &MemberJoinApprovedData{}
	case MemberJoinRejected:
		return &MemberJoinRejectedData{}
	case MemberRemoved:
		return &MemberRemovedData{}
	case MemberQuit:
		return &MemberQuitData{}
	case MemberRoleChanged:
		return &MemberRoleChangedData{}
	case MemberMuted:
		return &MemberMutedData{}
	case MemberUnmuted:
		return &MemberUnmutedData{}
	}
	return nil
}
