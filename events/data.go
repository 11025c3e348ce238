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
	// PolicyAllApproval (OpenIM's AllNeedVerification, needVerification 1):
	// join requests need approval, and so does an ordinary member's
	// invitation (it becomes a pending request naming the inviter); the
	// owner's and admins' invitations join directly.
	PolicyAllApproval JoinPolicy = "all_approval"
)

// Valid reports whether p is a known policy.
func (p JoinPolicy) Valid() bool {
	return p == PolicyOpen || p == PolicyApproval || p == PolicyInviteOnly || p == PolicyAllApproval
}

// JoinSource says how a member got in; the values are OpenIM's
// (constant.JoinByInvitation 2, JoinBySearch 3, JoinByQRCode 4). Zero
// means unknown (events written before schema version 2).
type JoinSource int

const (
	JoinByInvitation JoinSource = 2
	JoinBySearch     JoinSource = 3
	JoinByQRCode     JoinSource = 4
)

// Valid reports whether s is a source a command may name.
func (s JoinSource) Valid() bool {
	return s == JoinByInvitation || s == JoinBySearch || s == JoinByQRCode
}

// Profile is a member's own fields in a group (OpenIM's group member
// nickname, faceURL and ex). Empty means unset.
type Profile struct {
	Nickname string `json:"nickname,omitempty"`
	FaceURL  string `json:"face_url,omitempty"`
	Ex       string `json:"ex,omitempty"`
}

// IsZero reports whether p sets nothing.
func (p Profile) IsZero() bool { return p == Profile{} }

// Admission is what a policy hook (OpenIM's beforeMembersJoinGroup) may set
// on a member as they are admitted: their profile, a role above member and
// a mute. Zero values mean "as the command says".
type Admission struct {
	Profile
	Role       Role       `json:"role,omitempty"`
	MutedUntil *time.Time `json:"muted_until,omitempty"`
}

// IsZero reports whether a sets nothing.
func (a Admission) IsZero() bool { return a.Profile.IsZero() && a.Role == "" && a.MutedUntil == nil }

// Current schema versions of each event's data. Bump one only together with
// an upcaster from the previous version (see upcast.go).
var SchemaVersions = map[Type]int{
	GroupCreated: 2, GroupUpdated: 2, GroupDismissed: 2, GroupOwnershipTransferred: 1,
	GroupMuted: 1, GroupUnmuted: 1, MemberInvited: 2, MemberJoined: 2, MemberJoinRequested: 2,
	MemberJoinApproved: 2, MemberJoinRejected: 1, MemberRemoved: 2, MemberQuit: 1,
	MemberRoleChanged: 1, MemberMuted: 2, MemberUnmuted: 1, MemberInfoChanged: 1,
}

// GroupCreatedData: the group exists; Owner, Admins and Members are its
// first members. Schema version 2 added OpenIM's group fields, the creator,
// the admins and the members' admissions; a version 1 event upcasts with
// Creator = Owner and the rest empty.
type GroupCreatedData struct {
	Name       string     `json:"name"`
	Intro      string     `json:"intro,omitempty"`
	JoinPolicy JoinPolicy `json:"join_policy"`
	Owner      string     `json:"owner"`
	Members    []string   `json:"members,omitempty"`
	// Version 2.
	Admins            []string `json:"admins,omitempty"`
	Creator           string   `json:"creator,omitempty"`
	FaceURL           string   `json:"face_url,omitempty"`
	Ex                string   `json:"ex,omitempty"`
	Notification      string   `json:"notification,omitempty"`
	LookMemberInfo    int32    `json:"look_member_info,omitempty"`
	ApplyMemberFriend int32    `json:"apply_member_friend,omitempty"`
	// Admissions holds what a policy hook set per first member (keyed by
	// user id, the owner included); absent for most groups.
	Admissions map[string]Admission `json:"admissions,omitempty"`
}

// GroupUpdatedData carries only the fields that changed. Schema version 2
// added FaceURL, Ex, Notification, LookMemberInfo and ApplyMemberFriend; a
// changed Notification records the event's actor and time as who and when.
type GroupUpdatedData struct {
	Name       *string     `json:"name,omitempty"`
	Intro      *string     `json:"intro,omitempty"`
	JoinPolicy *JoinPolicy `json:"join_policy,omitempty"`
	// Version 2.
	FaceURL           *string `json:"face_url,omitempty"`
	Ex                *string `json:"ex,omitempty"`
	Notification      *string `json:"notification,omitempty"`
	LookMemberInfo    *int32  `json:"look_member_info,omitempty"`
	ApplyMemberFriend *int32  `json:"apply_member_friend,omitempty"`
}

// GroupDismissedData: the group is closed for good; its members are
// released. Schema version 2 names the owner and the members at the time
// (OpenIM's afterDismissGroup carries them); version 1 upcasts to empty.
type GroupDismissedData struct {
	Owner   string   `json:"owner,omitempty"`
	Members []string `json:"members,omitempty"`
}

// GroupOwnershipTransferredData: To becomes owner; From becomes a member.
type GroupOwnershipTransferredData struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// GroupMutedData: only the owner and admins may speak.
type GroupMutedData struct{}

// GroupUnmutedData lifts a group mute.
type GroupUnmutedData struct{}

// MemberInvitedData: UserID became a member, invited by Inviter. Schema
// version 2 added Reason (the invite's) and Admission.
type MemberInvitedData struct {
	UserID  string `json:"user_id"`
	Inviter string `json:"inviter"`
	// Version 2.
	Reason    string     `json:"reason,omitempty"`
	Admission *Admission `json:"admission,omitempty"`
}

// MemberJoinedData: UserID joined an open group directly. Schema version 2
// added Source (default JoinBySearch), the request's Message and Ex, and
// Admission.
type MemberJoinedData struct {
	UserID string `json:"user_id"`
	// Version 2.
	Source    JoinSource `json:"source,omitempty"`
	Message   string     `json:"message,omitempty"`
	Ex        string     `json:"ex,omitempty"`
	Admission *Admission `json:"admission,omitempty"`
}

// MemberJoinRequestedData: UserID asked to join an approval-policy group,
// or (schema version 2, policy all_approval) an ordinary member, Inviter,
// invited UserID and the invitation waits for approval. Version 2 added
// Inviter, Source and Ex.
type MemberJoinRequestedData struct {
	UserID  string `json:"user_id"`
	Message string `json:"message,omitempty"`
	// Version 2.
	Inviter string     `json:"inviter,omitempty"`
	Source  JoinSource `json:"source,omitempty"`
	Ex      string     `json:"ex,omitempty"`
}

// MemberJoinApprovedData: UserID's request was approved; UserID is a
// member. Schema version 2 added the request's Inviter and Source, and
// Admission.
type MemberJoinApprovedData struct {
	UserID   string `json:"user_id"`
	Approver string `json:"approver"`
	// Version 2.
	Inviter   string     `json:"inviter,omitempty"`
	Source    JoinSource `json:"source,omitempty"`
	Admission *Admission `json:"admission,omitempty"`
}

// MemberJoinRejectedData: UserID's request was turned down.
type MemberJoinRejectedData struct {
	UserID   string `json:"user_id"`
	Rejecter string `json:"rejecter"`
	Reason   string `json:"reason,omitempty"`
}

// MemberRemovedData: UserID was removed (kicked) by By. One remove command
// of several users appends one event per user in one commit. Schema
// version 2 added the command's Reason.
type MemberRemovedData struct {
	UserID string `json:"user_id"`
	By     string `json:"by"`
	// Version 2.
	Reason string `json:"reason,omitempty"`
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

// MemberInfoChangedData (member.set_info, OpenIM's SetGroupMemberInfo):
// UserID's fields that changed. A role given here is applied like
// member.role_changed (Previous is the role before).
type MemberInfoChangedData struct {
	UserID   string  `json:"user_id"`
	Nickname *string `json:"nickname,omitempty"`
	FaceURL  *string `json:"face_url,omitempty"`
	Ex       *string `json:"ex,omitempty"`
	Role     *Role   `json:"role,omitempty"`
	Previous Role    `json:"previous,omitempty"`
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
	case MemberInfoChanged:
		return &MemberInfoChangedData{}
	}
	return nil
}
