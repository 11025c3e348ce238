// Package group holds the pure domain of one group: its State, the fold that
// applies events to it, and Decide, which turns a command into the events it
// causes or a typed rejection. Nothing here touches NATS, a clock or I/O:
// the caller supplies "now" and persists what Decide returns.
package group

import (
	"fmt"
	"time"

	"github.com/rosterhq/roster/events"
)

// Member is one member of a group.
type Member struct {
	Role          events.Role `json:"role"`
	JoinedAt      time.Time   `json:"joined_at"`
	JoinedVersion uint64      `json:"joined_version"`
	// Inviter is who let the member in: the inviter, the approver of their
	// request, or the creator for the first members; empty for the owner
	// and for a direct join. It is OpenIM's operatorUserID (see Operator);
	// the name stays because snapshots and read-model records carry it.
	Inviter    string    `json:"inviter,omitempty"`
	MutedUntil time.Time `json:"muted_until,omitempty"`
	// Profile is the member's nickname, face URL and ex (OpenIM's group
	// member fields, issue 12); nil when none is set, as for most members:
	// a pointer keeps those members 32 bytes smaller (ADR 0081). It is
	// replaced, never changed in place, so a shallow copy of a Member
	// (Aggregate.Clone) shares nothing mutable.
	Profile *events.Profile `json:"profile,omitempty"`
	// JoinSource is OpenIM's joinSource (2 invitation, 3 search, 4 QR
	// code); zero when unknown (joins recorded before schema version 2).
	JoinSource events.JoinSource `json:"join_source,omitempty"`
	// InviterUserID is who invited the member, where known: the inviter of
	// a direct invitation, the creator for the first members, the inviter
	// of an all_approval invitation that was approved. Empty for a user who
	// applied or joined on their own (OpenIM's inviterUserID).
	InviterUserID string `json:"inviter_user_id,omitempty"`
}

// Operator is OpenIM's operatorUserID: who let the member in (Inviter).
func (m *Member) Operator() string { return m.Inviter }

// Nickname, FaceURL and Ex read the member's Profile ("" when unset).
func (m *Member) Nickname() string {
	if m.Profile == nil {
		return ""
	}
	return m.Profile.Nickname
}

func (m *Member) FaceURL() string {
	if m.Profile == nil {
		return ""
	}
	return m.Profile.FaceURL
}

func (m *Member) Ex() string {
	if m.Profile == nil {
		return ""
	}
	return m.Profile.Ex
}

// setProfile replaces the member's profile with a changed copy (nil when
// nothing is left set).
func (m *Member) setProfile(change func(p *events.Profile)) {
	var p events.Profile
	if m.Profile != nil {
		p = *m.Profile
	}
	change(&p)
	if p.IsZero() {
		m.Profile = nil
		return
	}
	m.Profile = &p
}

// JoinRequest is a pending request to join a group whose policy asks for
// approval: the user's application or (all_approval) an ordinary member's
// invitation, then Inviter names that member.
type JoinRequest struct {
	Message     string    `json:"message,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	// Version 2 of member.join_requested (issue 12).
	Inviter string            `json:"inviter,omitempty"`
	Source  events.JoinSource `json:"source,omitempty"`
	Ex      string            `json:"ex,omitempty"`
}

// State is a group's current state, the fold of its events.
// The zero value is a group that does not exist yet (version 0).
type State struct {
	ID         string                 `json:"id"`
	Version    uint64                 `json:"version"`
	Exists     bool                   `json:"exists"`
	Dismissed  bool                   `json:"dismissed"`
	Name       string                 `json:"name"`
	Intro      string                 `json:"intro,omitempty"`
	JoinPolicy events.JoinPolicy      `json:"join_policy"`
	Owner      string                 `json:"owner"`
	Muted      bool                   `json:"muted"`
	CreatedAt  time.Time              `json:"created_at"`
	UpdatedAt  time.Time              `json:"updated_at"`
	Members    map[string]*Member     `json:"members"`
	Pending    map[string]JoinRequest `json:"pending,omitempty"`
	// OpenIM's group fields (issue 12). Creator is the owner for groups
	// created before group.created schema version 2 (its upcast).
	Creator           string `json:"creator,omitempty"`
	FaceURL           string `json:"face_url,omitempty"`
	Ex                string `json:"ex,omitempty"`
	Notification      string `json:"notification,omitempty"`
	LookMemberInfo    int32  `json:"look_member_info,omitempty"`
	ApplyMemberFriend int32  `json:"apply_member_friend,omitempty"`
	// NotificationUserID and NotificationUpdatedAt are who last set the
	// notification and when (the event's actor and time), as OpenIM keeps
	// notificationUserID and notificationUpdateTime.
	NotificationUserID    string    `json:"notification_user_id,omitempty"`
	NotificationUpdatedAt time.Time `json:"notification_updated_at,omitempty"`
}

// OpenIM's group status codes (constant.GroupOk, GroupStatusDismissed,
// GroupStatusMuted). OpenIM's 1 (GroupBanChat) has no Roster counterpart.
const (
	StatusNormal    int32 = 0
	StatusDismissed int32 = 2
	StatusMuted     int32 = 3
)

// Status is the group's OpenIM status: dismissed wins over muted.
func (s *State) Status() int32 {
	switch {
	case s.Dismissed:
		return StatusDismissed
	case s.Muted:
		return StatusMuted
	}
	return StatusNormal
}

// New returns the empty state of group id.
func New(id string) *State {
	return &State{ID: id, Members: map[string]*Member{}, Pending: map[string]JoinRequest{}}
}

// Delta says what one event changed, so a read model can update only that:
// applying one member change to a 100,000-member group touches one member.
type Delta struct {
	// Group is true when group-level fields (name, policy, owner, mute,
	// dismissed, member count) changed.
	Group bool
	// Upserted lists members added or changed; read them from State.Members.
	Upserted []string
	// Removed lists users who are no longer members.
	Removed []string
	// PendingChanged lists users whose join request appeared or went away.
	PendingChanged []string
}

// Apply folds one event into s. It upcasts e first, so events stored under
// an older schema version mean what they meant when written. Events must be
// applied in version order; a gap or repeat is an error.
func (s *State) Apply(e events.Event) (Delta, error) {
	if e.Version != s.Version+1 {
		return Delta{}, fmt.Errorf("apply %s to group %s: version %d does not follow %d", e.Type, s.ID, e.Version, s.Version)
	}
	e, data, err := events.Decode(e)
	if err != nil {
		return Delta{}, err
	}
	return s.apply(e, data)
}

// ApplyDecoded folds an event whose data the caller already holds as the
// current version's typed value (a pointer such as *events.MemberInvitedData),
// as the command side does for the events it has just decided. It skips
// decoding; the meaning is the same as Apply's.
func (s *State) ApplyDecoded(e events.Event, data any) (Delta, error) {
	if e.Version != s.Version+1 {
		return Delta{}, fmt.Errorf("apply %s to group %s: version %d does not follow %d", e.Type, s.ID, e.Version, s.Version)
	}
	return s.apply(e, data)
}

func (s *State) apply(e events.Event, data any) (Delta, error) {
	if s.Members == nil {
		s.Members = map[string]*Member{}
	}
	if s.Pending == nil {
		s.Pending = map[string]JoinRequest{}
	}
	var d Delta
	switch v := data.(type) {
	case *events.GroupCreatedData:
		s.ID, s.Exists = e.GroupID, true
		s.Name, s.Intro, s.JoinPolicy, s.Owner = v.Name, v.Intro, v.JoinPolicy, v.Owner
		s.Creator, s.FaceURL, s.Ex = v.Creator, v.FaceURL, v.Ex
		s.LookMemberInfo, s.ApplyMemberFriend = v.LookMemberInfo, v.ApplyMemberFriend
		if v.Notification != "" {
			s.Notification, s.NotificationUserID, s.NotificationUpdatedAt = v.Notification, e.Actor, e.OccurredAt
		}
		s.CreatedAt = e.OccurredAt
		// The first members came in by the creator's invitation (OpenIM's
		// CreateGroup writes JoinByInvitation for all of them).
		owner := &Member{Role: events.RoleOwner, JoinedAt: e.OccurredAt, JoinedVersion: e.Version, JoinSource: events.JoinByInvitation}
		owner.admit(v.Admissions[v.Owner], false)
		s.Members[v.Owner] = owner
		d.Upserted = append(d.Upserted, v.Owner)
		first := func(u string, role events.Role) {
			m := &Member{Role: role, JoinedAt: e.OccurredAt, JoinedVersion: e.Version, Inviter: v.Owner,
				JoinSource: events.JoinByInvitation, InviterUserID: v.Creator}
			m.admit(v.Admissions[u], true)
			s.Members[u] = m
			d.Upserted = append(d.Upserted, u)
		}
		for _, u := range v.Admins {
			first(u, events.RoleAdmin)
		}
		for _, u := range v.Members {
			first(u, events.RoleMember)
		}
		d.Group = true
	case *events.GroupUpdatedData:
		if v.Name != nil {
			s.Name = *v.Name
		}
		if v.Intro != nil {
			s.Intro = *v.Intro
		}
		if v.JoinPolicy != nil {
			s.JoinPolicy = *v.JoinPolicy
		}
		if v.FaceURL != nil {
			s.FaceURL = *v.FaceURL
		}
		if v.Ex != nil {
			s.Ex = *v.Ex
		}
		if v.Notification != nil {
			s.Notification, s.NotificationUserID, s.NotificationUpdatedAt = *v.Notification, e.Actor, e.OccurredAt
		}
		if v.LookMemberInfo != nil {
			s.LookMemberInfo = *v.LookMemberInfo
		}
		if v.ApplyMemberFriend != nil {
			s.ApplyMemberFriend = *v.ApplyMemberFriend
		}
		d.Group = true
	case *events.GroupDismissedData:
		s.Dismissed = true
		for u := range s.Members {
			d.Removed = append(d.Removed, u)
		}
		for u := range s.Pending {
			d.PendingChanged = append(d.PendingChanged, u)
		}
		s.Members = map[string]*Member{}
		s.Pending = map[string]JoinRequest{}
		d.Group = true
	case *events.GroupOwnershipTransferredData:
		if m := s.Members[v.From]; m != nil {
			m.Role = events.RoleMember
		}
		if m := s.Members[v.To]; m != nil {
			m.Role = events.RoleOwner
		}
		s.Owner = v.To
		d.Upserted = append(d.Upserted, v.From, v.To)
		d.Group = true
	case *events.GroupMutedData:
		s.Muted, d.Group = true, true
	case *events.GroupUnmutedData:
		s.Muted, d.Group = false, true
	case *events.MemberInvitedData:
		d = s.addMember(v.UserID, &Member{Inviter: v.Inviter, InviterUserID: v.Inviter, JoinSource: events.JoinByInvitation}, v.Admission, e)
	case *events.MemberJoinedData:
		d = s.addMember(v.UserID, &Member{JoinSource: v.Source}, v.Admission, e)
	case *events.MemberJoinApprovedData:
		d = s.addMember(v.UserID, &Member{Inviter: v.Approver, InviterUserID: v.Inviter, JoinSource: v.Source}, v.Admission, e)
	case *events.MemberJoinRequestedData:
		s.Pending[v.UserID] = JoinRequest{Message: v.Message, RequestedAt: e.OccurredAt, Inviter: v.Inviter, Source: v.Source, Ex: v.Ex}
		d.PendingChanged = []string{v.UserID}
	case *events.MemberJoinRejectedData:
		delete(s.Pending, v.UserID)
		d.PendingChanged = []string{v.UserID}
	case *events.MemberRemovedData:
		d = s.removeMember(v.UserID)
	case *events.MemberQuitData:
		d = s.removeMember(v.UserID)
	case *events.MemberRoleChangedData:
		if m := s.Members[v.UserID]; m != nil {
			m.Role = v.Role
		}
		d.Upserted = []string{v.UserID}
	case *events.MemberMutedData:
		if m := s.Members[v.UserID]; m != nil {
			m.MutedUntil = v.Until
		}
		d.Upserted = []string{v.UserID}
	case *events.MemberUnmutedData:
		if m := s.Members[v.UserID]; m != nil {
			m.MutedUntil = time.Time{}
		}
		d.Upserted = []string{v.UserID}
	case *events.MemberInfoChangedData:
		if m := s.Members[v.UserID]; m != nil {
			if v.Nickname != nil || v.FaceURL != nil || v.Ex != nil {
				m.setProfile(func(p *events.Profile) {
					if v.Nickname != nil {
						p.Nickname = *v.Nickname
					}
					if v.FaceURL != nil {
						p.FaceURL = *v.FaceURL
					}
					if v.Ex != nil {
						p.Ex = *v.Ex
					}
				})
			}
			// A role here means what member.role_changed means.
			if v.Role != nil {
				m.Role = *v.Role
			}
		}
		d.Upserted = []string{v.UserID}
	default:
		return Delta{}, fmt.Errorf("apply %s: no fold for type %s", e.ID, e.Type)
	}
	s.Version = e.Version
	s.UpdatedAt = e.OccurredAt
	return d, nil
}

// addMember adds user as m (who let them in and how), an ordinary member
// unless a policy hook's admission says otherwise.
func (s *State) addMember(user string, m *Member, a *events.Admission, e events.Event) Delta {
	m.Role, m.JoinedAt, m.JoinedVersion = events.RoleMember, e.OccurredAt, e.Version
	if a != nil {
		m.admit(*a, true)
	}
	s.Members[user] = m
	d := Delta{Group: true, Upserted: []string{user}}
	if _, ok := s.Pending[user]; ok {
		delete(s.Pending, user)
		d.PendingChanged = []string{user}
	}
	return d
}

// admit applies a policy hook's admission: the profile fields it sets, its
// mute and, when role may change (not for the owner), its role.
func (m *Member) admit(a events.Admission, role bool) {
	if !a.Profile.IsZero() {
		m.setProfile(func(p *events.Profile) {
			if a.Nickname != "" {
				p.Nickname = a.Nickname
			}
			if a.FaceURL != "" {
				p.FaceURL = a.FaceURL
			}
			if a.Ex != "" {
				p.Ex = a.Ex
			}
		})
	}
	if role && (a.Role == events.RoleAdmin || a.Role == events.RoleMember) {
		m.Role = a.Role
	}
	if a.MutedUntil != nil {
		m.MutedUntil = a.MutedUntil.UTC()
	}
}

func (s *State) removeMember(user string) Delta {
	delete(s.Members, user)
	return Delta{Group: true, Removed: []string{user}}
}

// Fold applies events in order to a fresh state of group id.
func Fold(id string, evs []events.Event) (*State, error) {
	s := New(id)
	for _, e := range evs {
		if _, err := s.Apply(e); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Role returns user's role, or "" when user is not a member.
func (s *State) Role(user string) events.Role {
	if m := s.Members[user]; m != nil {
		return m.Role
	}
	return ""
}
