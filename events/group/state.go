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
	Inviter       string      `json:"inviter,omitempty"`
	MutedUntil    time.Time   `json:"muted_until,omitempty"`
}

// JoinRequest is a pending request to join an approval-policy group.
type JoinRequest struct {
	Message     string    `json:"message,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
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
		s.CreatedAt = e.OccurredAt
		s.Members[v.Owner] = &Member{Role: events.RoleOwner, JoinedAt: e.OccurredAt, JoinedVersion: e.Version}
		d.Upserted = append(d.Upserted, v.Owner)
		for _, u := range v.Members {
			s.Members[u] = &Member{Role: events.RoleMember, JoinedAt: e.OccurredAt, JoinedVersion: e.Version, Inviter: v.Owner}
			d.Upserted = append(d.Upserted, u)
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
		d = s.addMember(v.UserID, v.Inviter, e)
	case *events.MemberJoinedData:
		d = s.addMember(v.UserID, "", e)
	case *events.MemberJoinApprovedData:
		d = s.addMember(v.UserID, v.Approver, e)
	case *events.MemberJoinRequestedData:
		s.Pending[v.UserID] = JoinRequest{Message: v.Message, RequestedAt: e.OccurredAt}
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
	default:
		return Delta{}, fmt.Errorf("apply %s: no fold for type %s", e.ID, e.Type)
	}
	s.Version = e.Version
	s.UpdatedAt = e.OccurredAt
	return d, nil
}

func (s *State) addMember(user, inviter string, e events.Event) Delta {
	s.Members[user] = &Member{Role: events.RoleMember, JoinedAt: e.OccurredAt, JoinedVersion: e.Version, Inviter: inviter}
	d := Delta{Group: true, Upserted: []string{user}}
	if _, ok := s.Pending[user]; ok {
		delete(s.Pending, user)
		d.PendingChanged = []string{user}
	}
	return d
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
