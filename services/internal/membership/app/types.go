package app

import (
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// GroupInfo is the read model of one group's group-level fields. It also
// carries the projection's bookkeeping: the last event version and stream
// sequence applied to this group. Both only grow; they are the guard that
// makes a redelivered commit a no-op and a skipped one detectable.
type GroupInfo struct {
	GroupID     string            `json:"group_id"`
	Name        string            `json:"name"`
	Intro       string            `json:"intro,omitempty"`
	JoinPolicy  events.JoinPolicy `json:"join_policy"`
	Owner       string            `json:"owner"`
	Muted       bool              `json:"muted"`
	Dismissed   bool              `json:"dismissed"`
	MemberCount int               `json:"member_count"`
	Version     uint64            `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	// AppliedSeq is the ROSTER_EVENTS sequence of the last commit folded in.
	AppliedSeq uint64 `json:"applied_seq"`
	// FirstSeq is the sequence of the group's first commit: history reads
	// (changes, at_version) start there instead of at the stream's start.
	FirstSeq uint64 `json:"first_seq"`
	// OpenIM's group fields (issue 12). Status is derived (group.State's
	// Status: 0 normal, 2 dismissed, 3 muted) and always present.
	Creator               string     `json:"creator,omitempty"`
	FaceURL               string     `json:"face_url,omitempty"`
	Ex                    string     `json:"ex,omitempty"`
	Notification          string     `json:"notification,omitempty"`
	NotificationUserID    string     `json:"notification_user_id,omitempty"`
	NotificationUpdatedAt *time.Time `json:"notification_updated_at,omitempty"`
	LookMemberInfo        int32      `json:"look_member_info,omitempty"`
	ApplyMemberFriend     int32      `json:"apply_member_friend,omitempty"`
	Status                int32      `json:"status"`
}

// Member is one member as queries return it.
type Member struct {
	GroupID       string      `json:"group_id"`
	UserID        string      `json:"user_id"`
	Role          events.Role `json:"role"`
	JoinedAt      time.Time   `json:"joined_at"`
	JoinedVersion uint64      `json:"joined_version"`
	// Inviter is who let the member in (OpenIM's operatorUserID): the
	// inviter, the approver, or the creator for the first members.
	Inviter    string     `json:"inviter,omitempty"`
	MutedUntil *time.Time `json:"muted_until,omitempty"`
	// OpenIM's group member fields (issue 12). InviterUserID is who
	// invited the member, where known (OpenIM's inviterUserID); JoinSource
	// is OpenIM's joinSource (2 invitation, 3 search, 4 QR code; absent for
	// members who joined before Roster recorded it).
	Nickname      string            `json:"nickname,omitempty"`
	FaceURL       string            `json:"face_url,omitempty"`
	Ex            string            `json:"ex,omitempty"`
	JoinSource    events.JoinSource `json:"join_source,omitempty"`
	InviterUserID string            `json:"inviter_user_id,omitempty"`
}

// UserGroup is one entry of a user's group index.
type UserGroup struct {
	GroupID       string      `json:"group_id"`
	Role          events.Role `json:"role"`
	JoinedAt      time.Time   `json:"joined_at"`
	JoinedVersion uint64      `json:"joined_version"`
}

// InfoFromState is a group's info record after folding up to appliedSeq.
func InfoFromState(s *group.State, appliedSeq, firstSeq uint64) GroupInfo {
	info := GroupInfo{
		GroupID: s.ID, Name: s.Name, Intro: s.Intro, JoinPolicy: s.JoinPolicy, Owner: s.Owner,
		Muted: s.Muted, Dismissed: s.Dismissed, MemberCount: len(s.Members), Version: s.Version,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, AppliedSeq: appliedSeq, FirstSeq: firstSeq,
		Creator: s.Creator, FaceURL: s.FaceURL, Ex: s.Ex, Notification: s.Notification,
		NotificationUserID: s.NotificationUserID, LookMemberInfo: s.LookMemberInfo,
		ApplyMemberFriend: s.ApplyMemberFriend, Status: s.Status(),
	}
	if !s.NotificationUpdatedAt.IsZero() {
		t := s.NotificationUpdatedAt
		info.NotificationUpdatedAt = &t
	}
	return info
}

// MemberFromState is a member record as the read model stores it.
func MemberFromState(groupID, userID string, m *group.Member) Member {
	out := Member{
		GroupID: groupID, UserID: userID, Role: m.Role, JoinedAt: m.JoinedAt,
		JoinedVersion: m.JoinedVersion, Inviter: m.Inviter,
		Nickname: m.Nickname(), FaceURL: m.FaceURL(), Ex: m.Ex(), JoinSource: m.JoinSource, InviterUserID: m.InviterUserID,
	}
	if !m.MutedUntil.IsZero() {
		t := m.MutedUntil
		out.MutedUntil = &t
	}
	return out
}

// UserGroupFromState is a user-index record as the read model stores it.
func UserGroupFromState(groupID string, m *group.Member) UserGroup {
	return UserGroup{GroupID: groupID, Role: m.Role, JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion}
}

// State is the domain's member for a stored record.
func (m Member) State() *group.Member {
	out := &group.Member{Role: m.Role, JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion, Inviter: m.Inviter,
		JoinSource: m.JoinSource, InviterUserID: m.InviterUserID}
	if p := (events.Profile{Nickname: m.Nickname, FaceURL: m.FaceURL, Ex: m.Ex}); !p.IsZero() {
		out.Profile = &p
	}
	if m.MutedUntil != nil {
		out.MutedUntil = *m.MutedUntil
	}
	return out
}

// StateFrom rebuilds a group.State from its read model, so a projector that
// restarted resumes folding where the model stands without replaying the
// group's history. Pending join requests are not part of the read model;
// the fold only uses them to report PendingChanged, which the model ignores.
func StateFrom(info GroupInfo, members map[string]*group.Member) *group.State {
	s := group.New(info.GroupID)
	s.Version, s.Exists, s.Dismissed = info.Version, info.Version > 0, info.Dismissed
	s.Name, s.Intro, s.JoinPolicy, s.Owner, s.Muted = info.Name, info.Intro, info.JoinPolicy, info.Owner, info.Muted
	s.CreatedAt, s.UpdatedAt = info.CreatedAt, info.UpdatedAt
	s.Creator, s.FaceURL, s.Ex, s.Notification = info.Creator, info.FaceURL, info.Ex, info.Notification
	s.NotificationUserID, s.LookMemberInfo, s.ApplyMemberFriend = info.NotificationUserID, info.LookMemberInfo, info.ApplyMemberFriend
	if info.NotificationUpdatedAt != nil {
		s.NotificationUpdatedAt = *info.NotificationUpdatedAt
	}
	s.Members = members
	return s
}
