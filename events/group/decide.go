package group

import (
	"slices"
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
	// OpenIM's group model (issue 12). OpenIM's own columns are unbounded
	// strings; these bound what one event may carry.
	MaxNicknameLen     = 256  // member nickname (one line)
	MaxFaceURLLen      = 2048 // group and member face_url (one line)
	MaxExLen           = 4096 // group, member and join request ex (free text)
	MaxNotificationLen = 4096 // group notification (free text)
	// MaxDismissedMembers bounds the member list group.dismissed carries
	// (OpenIM's afterDismissGroup membersID): 10,000 ids of at most 64
	// bytes stay well inside NATS's default 1 MiB message, so the largest
	// groups can still be dismissed. A larger group's event leaves the
	// list out (docs/events.md); its members are in the read model and the
	// history at the version before.
	MaxDismissedMembers = 10_000
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
		return decideCreate(s, actor, c, now)
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
		d := &events.GroupDismissedData{Owner: s.Owner}
		if len(s.Members) <= MaxDismissedMembers {
			d.Members = make([]string, 0, len(s.Members))
			for u := range s.Members {
				d.Members = append(d.Members, u)
			}
			sort.Strings(d.Members)
		}
		return one(events.GroupDismissed, d), nil
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
		return decideInvite(s, actor, c, now)
	case Join:
		return decideJoin(s, actor, c, now)
	case Approve:
		if err := s.requireRole(actor, events.RoleAdmin, "approve join requests"); err != nil {
			return nil, err
		}
		if err := s.requirePending(c.UserID); err != nil {
			return nil, err
		}
		if err := validateAdmission("admission", c.Admission, false, now); err != nil {
			return nil, err
		}
		req := s.Pending[c.UserID]
		return one(events.MemberJoinApproved, &events.MemberJoinApprovedData{
			UserID: c.UserID, Approver: actor, Inviter: req.Inviter, Source: req.Source, Admission: c.Admission,
		}), nil
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
	case SetInfo:
		return decideSetInfo(s, actor, c)
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

func decideCreate(s *State, actor string, c Create, now time.Time) ([]Change, error) {
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
		return nil, events.Errorf(events.CodeInvalidArgument, "join_policy: %q is not one of %s", policy, policyNames)
	}
	if err := validateGroupFields(c.FaceURL, c.Ex, c.Notification, c.LookMemberInfo, c.ApplyMemberFriend); err != nil {
		return nil, err
	}
	// The batch cap counts every first member but the owner.
	if len(c.Admins)+len(c.Members) > MaxBatchUsers {
		return nil, events.Errorf(events.CodeInvalidArgument, "admins and members: more than %d together", MaxBatchUsers)
	}
	if err := events.ValidateIDs("admins", c.Admins); err != nil {
		return nil, err
	}
	if err := events.ValidateIDs("members", c.Members); err != nil {
		return nil, err
	}
	admins := make(map[string]struct{}, len(c.Admins))
	for _, a := range c.Admins {
		if a == actor {
			return nil, events.Errorf(events.CodeInvalidArgument, "admins: the owner %q cannot also be an admin", actor)
		}
		admins[a] = struct{}{}
	}
	for _, m := range c.Members {
		if m == actor {
			return nil, events.Errorf(events.CodeInvalidArgument, "members: the owner %q is a member already", actor)
		}
		if _, dup := admins[m]; dup {
			return nil, events.Errorf(events.CodeInvalidArgument, "members: %q is named in admins as well", m)
		}
	}
	var admissions map[string]events.Admission
	for u, a := range c.Admissions {
		_, admin := admins[u]
		if u != actor && !admin && !slices.Contains(c.Members, u) {
			return nil, events.Errorf(events.CodeInvalidArgument, "admissions: %q is not a first member of the group", u)
		}
		if err := validateAdmission("admissions["+u+"]", &a, u == actor, now); err != nil {
			return nil, err
		}
		if a.IsZero() {
			continue
		}
		if admissions == nil {
			admissions = make(map[string]events.Admission, len(c.Admissions))
		}
		admissions[u] = a
	}
	return one(events.GroupCreated, &events.GroupCreatedData{
		Name: c.Name, Intro: c.Intro, JoinPolicy: policy, Owner: actor, Members: c.Members,
		Admins: c.Admins, Creator: actor, FaceURL: c.FaceURL, Ex: c.Ex, Notification: c.Notification,
		LookMemberInfo: c.LookMemberInfo, ApplyMemberFriend: c.ApplyMemberFriend, Admissions: admissions,
	}), nil
}

// policyNames lists the join policies for error messages.
const policyNames = "open, approval, all_approval, invite_only"

func validateName(n string) error {
	if strings.TrimSpace(n) == "" {
		return events.Errorf(events.CodeInvalidArgument, "name: must not be empty")
	}
	return wire.Name("name", n, MaxNameLen)
}

// validateGroupFields checks OpenIM's group fields as group.create sets them.
func validateGroupFields(faceURL, ex, notification string, look, apply int32) error {
	if err := wire.Name("face_url", faceURL, MaxFaceURLLen); err != nil {
		return err
	}
	if err := wire.Text("ex", ex, MaxExLen); err != nil {
		return err
	}
	if err := wire.Text("notification", notification, MaxNotificationLen); err != nil {
		return err
	}
	if err := validateSwitch("look_member_info", look); err != nil {
		return err
	}
	return validateSwitch("apply_member_friend", apply)
}

// validateSwitch checks one of OpenIM's 0/1 group switches
// (lookMemberInfo, applyMemberFriend).
func validateSwitch(field string, v int32) error {
	if v != 0 && v != 1 {
		return events.Errorf(events.CodeInvalidArgument, "%s: %d is not 0 or 1", field, v)
	}
	return nil
}

// validateProfile checks a member's own fields.
func validateProfile(field string, p events.Profile) error {
	if err := wire.Name(field+".nickname", p.Nickname, MaxNicknameLen); err != nil {
		return err
	}
	if err := wire.Name(field+".face_url", p.FaceURL, MaxFaceURLLen); err != nil {
		return err
	}
	return wire.Text(field+".ex", p.Ex, MaxExLen)
}

// validateAdmission checks what a policy hook set on a member being
// admitted: a valid profile, a role of admin or member (never owner, and
// none at all for the owner), a mute that ends in the future and within
// MaxMuteDuration of now.
func validateAdmission(field string, a *events.Admission, owner bool, now time.Time) error {
	if a == nil {
		return nil
	}
	if err := validateProfile(field, a.Profile); err != nil {
		return err
	}
	switch {
	case a.Role == "":
	case owner:
		return events.Errorf(events.CodeInvalidArgument, "%s.role: the owner's role cannot be set", field)
	case a.Role != events.RoleAdmin && a.Role != events.RoleMember:
		return events.Errorf(events.CodeInvalidArgument, "%s.role: %q is not admin or member", field, a.Role)
	}
	if a.MutedUntil != nil && (!a.MutedUntil.After(now) || a.MutedUntil.After(now.Add(MaxMuteDuration))) {
		return events.Errorf(events.CodeInvalidArgument, "%s.muted_until: must be in the future and within %d seconds", field, int(MaxMuteDuration/time.Second))
	}
	return nil
}

func decideUpdate(s *State, actor string, c Update) ([]Change, error) {
	if err := s.requireRole(actor, events.RoleAdmin, "update the group"); err != nil {
		return nil, err
	}
	var d events.GroupUpdatedData
	changed := false
	if c.Name != nil && *c.Name != s.Name {
		if err := validateName(*c.Name); err != nil {
			return nil, err
		}
		d.Name, changed = c.Name, true
	}
	if c.Intro != nil && *c.Intro != s.Intro {
		if err := wire.Text("intro", *c.Intro, MaxIntroLen); err != nil {
			return nil, err
		}
		d.Intro, changed = c.Intro, true
	}
	if c.JoinPolicy != nil && *c.JoinPolicy != s.JoinPolicy {
		if !c.JoinPolicy.Valid() {
			return nil, events.Errorf(events.CodeInvalidArgument, "join_policy: %q is not one of %s", *c.JoinPolicy, policyNames)
		}
		d.JoinPolicy, changed = c.JoinPolicy, true
	}
	if c.FaceURL != nil && *c.FaceURL != s.FaceURL {
		if err := wire.Name("face_url", *c.FaceURL, MaxFaceURLLen); err != nil {
			return nil, err
		}
		d.FaceURL, changed = c.FaceURL, true
	}
	if c.Ex != nil && *c.Ex != s.Ex {
		if err := wire.Text("ex", *c.Ex, MaxExLen); err != nil {
			return nil, err
		}
		d.Ex, changed = c.Ex, true
	}
	if c.Notification != nil && *c.Notification != s.Notification {
		if err := wire.Text("notification", *c.Notification, MaxNotificationLen); err != nil {
			return nil, err
		}
		d.Notification, changed = c.Notification, true
	}
	if c.LookMemberInfo != nil && *c.LookMemberInfo != s.LookMemberInfo {
		if err := validateSwitch("look_member_info", *c.LookMemberInfo); err != nil {
			return nil, err
		}
		d.LookMemberInfo, changed = c.LookMemberInfo, true
	}
	if c.ApplyMemberFriend != nil && *c.ApplyMemberFriend != s.ApplyMemberFriend {
		if err := validateSwitch("apply_member_friend", *c.ApplyMemberFriend); err != nil {
			return nil, err
		}
		d.ApplyMemberFriend, changed = c.ApplyMemberFriend, true
	}
	if !changed {
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

// decideInvite admits the invited users at once, except for an ordinary
// member's invitation under all_approval (OpenIM's AllNeedVerification):
// each becomes a pending request naming the inviter, with source
// JoinByInvitation and the invite's reason as its message, for the owner
// or an admin to approve (a policy hook's admissions apply only to users
// admitted here; the approval carries its own).
func decideInvite(s *State, actor string, c Invite, now time.Time) ([]Change, error) {
	if len(c.UserIDs) == 0 {
		return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: must not be empty")
	}
	if len(c.UserIDs) > MaxBatchUsers {
		return nil, events.Errorf(events.CodeInvalidArgument, "user_ids: more than %d", MaxBatchUsers)
	}
	if err := events.ValidateIDs("user_ids", c.UserIDs); err != nil {
		return nil, err
	}
	if err := wire.Text("reason", c.Reason, MaxMessageLen); err != nil {
		return nil, err
	}
	role := s.Role(actor)
	switch {
	case role == "":
		return nil, events.Errorf(events.CodeForbidden, "%q is not a member of group %q and cannot invite", actor, s.ID)
	case role == events.RoleMember && s.JoinPolicy == events.PolicyInviteOnly:
		return nil, events.Errorf(events.CodeForbidden, "only the owner and admins may invite to invite-only group %q", s.ID)
	}
	asks := role == events.RoleMember && s.JoinPolicy == events.PolicyAllApproval
	var already, pending []string
	for _, u := range c.UserIDs {
		if s.Members[u] != nil {
			already = append(already, u)
		} else if _, ok := s.Pending[u]; ok && asks {
			pending = append(pending, u)
		}
	}
	if len(already) > 0 {
		sort.Strings(already)
		return nil, events.Errorf(events.CodeAlreadyExists, "user_ids: already members of group %q: %s", s.ID, strings.Join(already, ", "))
	}
	if len(pending) > 0 {
		sort.Strings(pending)
		return nil, events.Errorf(events.CodeAlreadyExists, "user_ids: already asked to join group %q: %s", s.ID, strings.Join(pending, ", "))
	}
	for u, a := range c.Admissions {
		if !slices.Contains(c.UserIDs, u) {
			return nil, events.Errorf(events.CodeInvalidArgument, "admissions: %q is not invited", u)
		}
		if err := validateAdmission("admissions["+u+"]", &a, false, now); err != nil {
			return nil, err
		}
	}
	changes := make([]Change, 0, len(c.UserIDs))
	for _, u := range c.UserIDs {
		if asks {
			changes = append(changes, Change{Type: events.MemberJoinRequested, Data: &events.MemberJoinRequestedData{
				UserID: u, Message: c.Reason, Inviter: actor, Source: events.JoinByInvitation,
			}})
			continue
		}
		d := &events.MemberInvitedData{UserID: u, Inviter: actor, Reason: c.Reason}
		if a, ok := c.Admissions[u]; ok && !a.IsZero() {
			d.Admission = &a
		}
		changes = append(changes, Change{Type: events.MemberInvited, Data: d})
	}
	return changes, nil
}

func decideJoin(s *State, actor string, c Join, now time.Time) ([]Change, error) {
	if s.Members[actor] != nil {
		return nil, events.Errorf(events.CodeAlreadyExists, "%q is already a member of group %q", actor, s.ID)
	}
	if err := wire.Text("message", c.Message, MaxMessageLen); err != nil {
		return nil, err
	}
	if err := wire.Text("ex", c.Ex, MaxExLen); err != nil {
		return nil, err
	}
	source := c.Source
	if source == 0 {
		source = events.JoinBySearch
	}
	if !source.Valid() {
		return nil, events.Errorf(events.CodeInvalidArgument, "source: %d is not 2 (invitation), 3 (search) or 4 (QR code)", source)
	}
	switch s.JoinPolicy {
	case events.PolicyOpen:
		if err := validateAdmission("admission", c.Admission, false, now); err != nil {
			return nil, err
		}
		d := &events.MemberJoinedData{UserID: actor, Source: source, Message: c.Message, Ex: c.Ex}
		if c.Admission != nil && !c.Admission.IsZero() {
			d.Admission = c.Admission
		}
		return one(events.MemberJoined, d), nil
	case events.PolicyApproval, events.PolicyAllApproval:
		if _, ok := s.Pending[actor]; ok {
			return nil, events.Errorf(events.CodeAlreadyExists, "%q already asked to join group %q", actor, s.ID)
		}
		return one(events.MemberJoinRequested, &events.MemberJoinRequestedData{UserID: actor, Message: c.Message, Source: source, Ex: c.Ex}), nil
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
	if err := wire.Text("reason", c.Reason, MaxMessageLen); err != nil {
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
		changes = append(changes, Change{Type: events.MemberRemoved, Data: &events.MemberRemovedData{UserID: u, By: actor, Reason: c.Reason}})
	}
	return changes, nil
}

func decideSetRole(s *State, actor string, c SetRole) ([]Change, error) {
	m, err := s.checkRoleChange(actor, c.UserID, c.Role)
	if err != nil {
		return nil, err
	}
	if m.Role == c.Role {
		return nil, events.Errorf(events.CodeFailedPrecondition, "user_id: %q is already %s", c.UserID, c.Role)
	}
	return one(events.MemberRoleChanged, &events.MemberRoleChangedData{UserID: c.UserID, Role: c.Role, Previous: m.Role}), nil
}

// checkRoleChange applies member.set_role's rules (the owner sets admin or
// member on a member who is not the owner) and returns the target.
func (s *State) checkRoleChange(actor, user string, role events.Role) (*Member, error) {
	if err := s.requireRole(actor, events.RoleOwner, "set roles"); err != nil {
		return nil, err
	}
	if role != events.RoleAdmin && role != events.RoleMember {
		return nil, events.Errorf(events.CodeInvalidArgument, "role: %q is not admin or member (use group.transfer for ownership)", role)
	}
	m := s.Members[user]
	if m == nil {
		return nil, events.Errorf(events.CodeNotFound, "user_id: %q is not a member of group %q", user, s.ID)
	}
	if m.Role == events.RoleOwner {
		return nil, events.Errorf(events.CodeFailedPrecondition, "user_id: %q is the owner (use group.transfer)", user)
	}
	return m, nil
}

// decideSetInfo is OpenIM's SetGroupMemberInfo: a member sets their own
// nickname, face_url and ex; the owner sets anyone's, an admin an ordinary
// member's. A role in it is a role change under member.set_role's rules.
// Fields equal to the member's current ones are left out; a command that
// changes nothing is refused.
func decideSetInfo(s *State, actor string, c SetInfo) ([]Change, error) {
	if err := events.ValidateID("user_id", c.UserID); err != nil {
		return nil, err
	}
	m := s.Members[c.UserID]
	if actor != c.UserID || m == nil {
		if err := s.requireOutranks(actor, c.UserID, "set the info of"); err != nil {
			return nil, err
		}
		m = s.Members[c.UserID]
	}
	d := events.MemberInfoChangedData{UserID: c.UserID}
	changed := false
	if c.Nickname != nil && *c.Nickname != m.Nickname() {
		if err := wire.Name("nickname", *c.Nickname, MaxNicknameLen); err != nil {
			return nil, err
		}
		d.Nickname, changed = c.Nickname, true
	}
	if c.FaceURL != nil && *c.FaceURL != m.FaceURL() {
		if err := wire.Name("face_url", *c.FaceURL, MaxFaceURLLen); err != nil {
			return nil, err
		}
		d.FaceURL, changed = c.FaceURL, true
	}
	if c.Ex != nil && *c.Ex != m.Ex() {
		if err := wire.Text("ex", *c.Ex, MaxExLen); err != nil {
			return nil, err
		}
		d.Ex, changed = c.Ex, true
	}
	if c.Role != nil {
		if *c.Role != events.RoleAdmin && *c.Role != events.RoleMember {
			return nil, events.Errorf(events.CodeInvalidArgument, "role: %q is not admin or member (use group.transfer for ownership)", *c.Role)
		}
		if *c.Role != m.Role {
			if _, err := s.checkRoleChange(actor, c.UserID, *c.Role); err != nil {
				return nil, err
			}
			d.Role, d.Previous, changed = c.Role, m.Role, true
		}
	}
	if !changed {
		return nil, events.Errorf(events.CodeFailedPrecondition, "set_info changes nothing")
	}
	return one(events.MemberInfoChanged, &d), nil
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
