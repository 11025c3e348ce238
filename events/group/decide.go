package group

import (
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
)

// Limits the domain enforces (documented in docs/commands.md). Text
// lengths count characters (code points), as JSON Schema's maxLength does.
const (
	MaxNameLen      = 256
	MaxIntroLen     = 2048
	MaxMessageLen   = 1024
	MaxBatchUsers   = 1000                // user_ids per invite/remove, members per create
	MaxMuteDuration = 30 * 24 * time.Hour // OpenIM's limit as well
)

// Command is a request to change a group.
// Kind is the command's stable name, which is also the last two tokens of its NATS subject (e.g. "member.invite").
type Command interface{ Kind() string }

// The commands. Actor is the user performing the command; every command is
// decided against the state and the actor's role in it.
type (
	Create struct {
		Name       string
		Intro      string
		JoinPolicy events.JoinPolicy
		Members    []string
		// OpenIM's group model (issue 12).
		Admins            []string
		FaceURL           string
		Ex                string
		Notification      string
		LookMemberInfo    int32
		ApplyMemberFriend int32
		// Admissions: what a policy hook set per first member.
		Admissions map[string]events.Admission
	}
	Update struct {
		Name       *string
		Intro      *string
		JoinPolicy *events.JoinPolicy
		// OpenIM's group model (issue 12).
		FaceURL           *string
		Ex                *string
		Notification      *string
		LookMemberInfo    *int32
		ApplyMemberFriend *int32
	}
	Dismiss     struct{}
	Transfer    struct{ NewOwner string }
	MuteGroup   struct{}
	UnmuteGroup struct{}
	Invite      struct {
		UserIDs []string
		Reason  string
		// Admissions: what a policy hook set per invited user.
		Admissions map[string]events.Admission
	}
	Join struct {
		Message string
		// Source: how the user found the group (default JoinBySearch).
		Source events.JoinSource
		Ex     string
		// Admission: what a policy hook set, used when the join is direct.
		Admission *events.Admission
	}
	Approve struct {
		UserID    string
		Admission *events.Admission
	}
	Reject struct {
		UserID string
		Reason string
	}
	Remove struct {
		UserIDs []string
		Reason  string
	}
	Quit    struct{}
	SetRole struct {
		UserID string
		Role   events.Role
	}
	// SetInfo is member.set_info (OpenIM's SetGroupMemberInfo): a member's
	// own fields and, optionally, their role. Nil fields are unchanged.
	SetInfo struct {
		UserID   string
		Nickname *string
		FaceURL  *string
		Ex       *string
		Role     *events.Role
	}
	MuteMember struct {
		UserID   string
		Duration time.Duration
	}
	UnmuteMember struct{ UserID string }
)

func (Create) Kind() string       { return "group.create" }
func (Update) Kind() string       { return "group.update" }
func (Dismiss) Kind() string      { return "group.dismiss" }
func (Transfer) Kind() string     { return "group.transfer" }
func (MuteGroup) Kind() string    { return "group.mute" }
func (UnmuteGroup) Kind() string  { return "group.unmute" }
func (Invite) Kind() string       { return "member.invite" }
func (Join) Kind() string         { return "member.join" }
func (Approve) Kind() string      { return "member.approve" }
func (Reject) Kind() string       { return "member.reject" }
func (Remove) Kind() string       { return "member.remove" }
func (Quit) Kind() string         { return "member.quit" }
func (SetRole) Kind() string      { return "member.set_role" }
func (SetInfo) Kind() string      { return "member.set_info" }
func (MuteMember) Kind() string   { return "member.mute" }
func (UnmuteMember) Kind() string { return "member.unmute" }

// Change is one event Decide wants appended: its type and data. The caller
// wraps it in an envelope (id, version, time, command and correlation ids).
type Change struct {
	Type events.Type
	Data any
}

// Decide turns cmd, performed by actor at time now, into the events it
// causes on s, or a typed *events.Error. It never mutates s. A command that
// would change nothing is rejected rather than producing an empty commit.
func Decide(s *State, actor string, cmd Command, now time.Time) ([]Change, error) {
	if c, ok := cmd.(Create); ok {
		return decideCreate(s, actor, c)
	}
	if !s.Exists {
		return nil, events.Errorf(events.CodeNotFound, "group %q does not exist", s.ID)
	}
	if s.Dismissed {
		return nil, events.Errorf(events.CodeFailedPrecondition, "group %q is dismissed", s.ID)
	}
	switch c := cmd.(type) {
	case Update:
		return decideUpdate(s, actor, c)
	case Dismiss:
		if err := s.requireRole(actor, events.RoleOwner, "dismiss the group"); err != nil {
			return nil, err
		}
		return one(events.GroupDismissed, &events.GroupDismissedData{}), nil
	case Transfer:
		return decideTransfer(s, actor, c)
	case MuteGroup:
		if err := s.requireRole(actor, events.RoleAdmin, "mute the group"); err != nil {
			return nil, err
		}
		if s.Muted {
			return nil, events.Errorf(events.CodeFailedPrecondition, "group %q is already muted", s.ID)
		}
		return one(events.GroupMuted, &events.GroupMutedData{}), nil
	case UnmuteGroup:
		if err := s.requireRole(actor, events.RoleAdmin, "unmute the group"); err != nil {
			return nil, err
		}
		if !s.Muted {
			return nil, events.Errorf(events.CodeFailedPrecondition, "group %q is not muted", s.ID)
		}
		return one(events.GroupUnmuted, &events.GroupUnmutedData{}), nil
	case Invite:
		return decideInvite(s, actor, c)
	case Join:
		return decideJoin(s, actor, c)
	case Approve:
		if err := s.requireRole(actor, events.RoleAdmin, "approve join requests"); err != nil {
			return nil, err
		}
		if err := s.requirePending(c.UserID); err != nil {
			return nil, err
		}
		return one(events.MemberJoinApproved, &events.MemberJoinApprovedData{UserID: c.UserID, Approver: actor}), nil
	case Reject:
		if err := s.requireRole(actor, events.RoleAdmin, "reject join requests"); err != nil {
			return nil, err
		}
		if err := s.requirePending(c.UserID); err != nil {
			return nil, err
		}
		if err := wire.Text("reason", c.Reason, MaxMessageLen); err != nil {
			return nil, err
		}
		return one(events.MemberJoinRejected, &events.MemberJoinRejectedData{UserID: c.UserID, Rejecter: actor, Reason: c.Reason}), nil
	case Remove:
		return decideRemove(s, actor, c)
	case Quit:
		switch s.Role(actor) {
		case "":
			return nil, events.Errorf(events.CodeNotFound, "%q is not a member of group %q", actor, s.ID)
		case events.RoleOwner:
			return nil, events.Errorf(events.CodeFailedPrecondition, "the owner cannot quit: transfer ownership or dismiss the group")
		}
		return one(events.MemberQuit, &events.MemberQuitData{UserID: actor}), nil
	case SetRole:
		return decideSetRole(s, actor, c)
	case MuteMember:
		if c.Duration <= 0 || c.Duration > MaxMuteDuration {
			return nil, events.Errorf(events.CodeInvalidArgument, "duration_seconds: must be between 1 and %d", int(MaxMuteDuration/time.Second))
		}
		if err := s.requireOutranks(actor, c.UserID, "mute"); err != nil {
			return nil, err
		}
		until := now.Add(c.Duration).UTC().Truncate(time.Second)
		return one(events.MemberMuted, &events.MemberMutedData{UserID: c.UserID, Until: until}), nil
	case UnmuteMember:
		if err := s.requireOutranks(actor, c.UserID, "unmute"); err != nil {
			return nil, err
		}
		if m := s.Members[c.UserID]; !m.MutedUntil.After(now) {
			return nil, events.Errorf(events.CodeFailedPrecondition, "%q is not muted", c.UserID)
		}
		return one(events.MemberUnmuted, &events.MemberUnmutedData{UserID: c.UserID}), nil
	}
	return nil, events.Errorf(events.CodeInvalidArgument, "unknown command %T", cmd)
}

func one(t events.Type, data any) []Change { return []Change{{Type: t, Data: data}} }

func decideCreate(s *State, actor string, c Create) ([]Change, error) {
	if s.Exists {
		return nil, events.Errorf(events.CodeAlreadyExists, "group %q already exists", s.ID)
	}
	if err := validateName(c.Name); err != nil {
		return nil, err
	}
	if err := wire.Text("intro", c.Intro, MaxIntroLen); err != nil {
		return nil, err
	}
	policy := c.JoinPolicy
	if policy == "" {
		policy = events.PolicyApproval
	}
	if !policy.Valid() {
		return nil, events.Errorf(events.CodeInvalidArgument, "join_policy: %q is not one of open, approval, invite_only", policy)
	}
	if len(c.Members) > MaxBatchUsers {
		return nil, events.Errorf(events.CodeInvalidArgument, "members: more than %d", MaxBatchUsers)
	}
	if err := events.ValidateIDs("members", c.Members); err != nil {
		return nil, err
	}
	for _, m := range c.Members {
		if m == actor {
			return nil, events.Errorf(events.CodeInvalidArgument, "members: the owner %q is a member already", actor)
		}
	}
	return one(events.GroupCreated, &events.GroupCreatedData{
		Name: c.Name, Intro: c.Intro, JoinPolicy: policy, Owner: actor, Members: c.Members,
	}), nil
}

func validateName(n string) error {
	if strings.TrimSpace(n) == "" {
		return events.Errorf(events.CodeInvalidArgument, "name: must not be empty")
	}
	return wire.Name("name", n, MaxNameLen)
}

func decideUpdate(s *State, actor string, c Update) ([]Change, error) {
	if err := s.requireRole(actor, events.RoleAdmin, "update the group"); err != nil {
		return nil, err
	}
	var d events.GroupUpdatedData
	if c.Name != nil && *c.Name != s.Name {
		if err := validateName(*c.Name); err != nil {
			return nil, err
		}
		d.Name = c.Name
	}
	if c.Intro != nil && *c.Intro != s.Intro {
		if err := wire.Text("intro", *c.Intro, MaxIntroLen); err != nil {
			return nil, err
		}
		d.Intro = c.Intro
	}
	if c.JoinPolicy != nil && *c.JoinPolicy != s.JoinPolicy {
		if !c.JoinPolicy.Valid() {
			return nil, events.Errorf(events.CodeInvalidArgument, "join_policy: %q is not one of open, approval, invite_only", *c.JoinPolicy)
		}
		d.JoinPolicy = c.JoinPolicy
	}
	if d.Name == nil && d.Intro == nil && d.JoinPolicy == nil {
		return nil, events.Errorf(events.CodeFailedPrecondition, "update changes nothing")
	}
	return one(events.GroupUpdated, &d), nil
}

func decideTransfer(s *State, actor string, c Transfer) ([]Change, error) {
	if err := s.requireRole(actor, events.RoleOwner, "transfer ownership"); err != nil {
		return nil, err
	}
	if c.NewOwner == actor {
		return nil, events.Errorf(events.CodeInvalidArgument, "new_owner: %q already owns the group", actor)
	}
	if s.Members[c.NewOwner] == nil {
		return nil, events.Errorf(events.CodeNotFound, "new_owner: %q is not a member of group %q", c.NewOwner, s.ID)
	}
	return one(events.GroupOwnershipTransferred, &events.GroupOwnershipTransferredData{From: actor, To: c.NewOwner}), nil
}

func decideInvite(s *State, actor string, c Invite) ([]Change, error) {
	if len(c.UserIDs) == 0 {
		return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: must not be empty")
	}
	if len(c.UserIDs) > MaxBatchUsers {
		return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: more than %d", MaxBatchUsers)
	}
	if err := events.ValidateIDs("user_ids", c.UserIDs); err != nil {
		return nil, err
	}
	role := s.Role(actor)
	switch {
	case role == "":
		return nil, events.Errorf(events.CodeForbidden, "%q is not a member of group %q and cannot invite", actor, s.ID)
	case role == events.RoleMember && s.JoinPolicy == events.PolicyInviteOnly:
		return nil, events.Errorf(events.CodeForbidden, "only the owner and admins may invite to invite-only group %q", s.ID)
	}
	var already []string
	for _, u := range c.UserIDs {
		if s.Members[u] != nil {
			already = append(already, u)
		}
	}
	if len(already) > 0 {
		sort.Strings(already)
		return nil, events.Errorf(events.CodeAlreadyExists, "user_ids: already members of group %q: %s", s.ID, strings.Join(already, ", "))
	}
	changes := make([]Change, 0, len(c.UserIDs))
	for _, u := range c.UserIDs {
		changes = append(changes, Change{Type: events.MemberInvited, Data: &events.MemberInvitedData{UserID: u, Inviter: actor}})
	}
	return changes, nil
}

func decideJoin(s *State, actor string, c Join) ([]Change, error) {
	if s.Members[actor] != nil {
		return nil, events.Errorf(events.CodeAlreadyExists, "%q is already a member of group %q", actor, s.ID)
	}
	if err := wire.Text("message", c.Message, MaxMessageLen); err != nil {
		return nil, err
	}
	switch s.JoinPolicy {
	case events.PolicyOpen:
		return one(events.MemberJoined, &events.MemberJoinedData{UserID: actor}), nil
	case events.PolicyApproval:
		if _, ok := s.Pending[actor]; ok {
			return nil, events.Errorf(events.CodeAlreadyExists, "%q already asked to join group %q", actor, s.ID)
		}
		return one(events.MemberJoinRequested, &events.MemberJoinRequestedData{UserID: actor, Message: c.Message}), nil
	}
	return nil, events.Errorf(events.CodeForbidden, "group %q is invite-only", s.ID)
}

func decideRemove(s *State, actor string, c Remove) ([]Change, error) {
	if len(c.UserIDs) == 0 {
		return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: must not be empty")
	}
	if len(c.UserIDs) > MaxBatchUsers {
		return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: more than %d", MaxBatchUsers)
	}
	if err := events.ValidateIDs("user_ids", c.UserIDs); err != nil {
		return nil, err
	}
	changes := make([]Change, 0, len(c.UserIDs))
	for _, u := range c.UserIDs {
		if u == actor {
			return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: %q cannot remove themselves (use member.quit)", actor)
		}
		if err := s.requireOutranks(actor, u, "remove"); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Type: events.MemberRemoved, Data: &events.MemberRemovedData{UserID: u, By: actor}})
	}
	return changes, nil
}

func decideSetRole(s *State, actor string, c SetRole) ([]Change, error) {
	if err := s.requireRole(actor, events.RoleOwner, "set roles"); err != nil {
		return nil, err
	}
	if c.Role != events.RoleAdmin && c.Role != events.RoleMember {
		return nil, events.Errorf(events.CodeInvalidArgument, "role: %q is not admin or member (use group.transfer for ownership)", c.Role)
	}
	m := s.Members[c.UserID]
	if m == nil {
		return nil, events.Errorf(events.CodeNotFound, "user_id: %q is not a member of group %q", c.UserID, s.ID)
	}
	if m.Role == events.RoleOwner {
		return nil, events.Errorf(events.CodeFailedPrecondition, "user_id: %q is the owner (use group.transfer)", c.UserID)
	}
	if m.Role == c.Role {
		return nil, events.Errorf(events.CodeFailedPrecondition, "user_id: %q is already %s", c.UserID, c.Role)
	}
	return one(events.MemberRoleChanged, &events.MemberRoleChangedData{UserID: c.UserID, Role: c.Role, Previous: m.Role}), nil
}

// requireRole checks that actor's role is at least min.
func (s *State) requireRole(actor string, min events.Role, what string) error {
	r := s.Role(actor)
	if r == "" {
		return events.Errorf(events.CodeForbidden, "%q is not a member of group %q and cannot %s", actor, s.ID, what)
	}
	if r.Level() < min.Level() {
		return events.Errorf(events.CodeForbidden, "%q is %s; only %s may %s", actor, r, rolesFrom(min), what)
	}
	return nil
}

// requireOutranks checks that target is a member and actor's role is
// strictly higher than target's (owner > admin > member), as OpenIM does.
func (s *State) requireOutranks(actor, target, what string) error {
	ar := s.Role(actor)
	if ar == "" {
		return events.Errorf(events.CodeForbidden, "%q is not a member of group %q and cannot %s members", actor, s.ID, what)
	}
	tr := s.Role(target)
	if tr == "" {
		return events.Errorf(events.CodeNotFound, "%q is not a member of group %q", target, s.ID)
	}
	if ar.Level() <= tr.Level() {
		return events.Errorf(events.CodeForbidden, "%q (%s) may not %s %q (%s)", actor, ar, what, target, tr)
	}
	return nil
}

func (s *State) requirePending(user string) error {
	if err := events.ValidateID("user_id", user); err != nil {
		return err
	}
	if _, ok := s.Pending[user]; !ok {
		return events.Errorf(events.CodeNotFound, "user_id: %q has no pending join request in group %q", user, s.ID)
	}
	return nil
}

func rolesFrom(min events.Role) string {
	if min == events.RoleOwner {
		return "the owner"
	}
	return "the owner and admins"
}
