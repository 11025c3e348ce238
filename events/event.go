package events

import (
	"encoding/json"
	"time"
)

// Type is an event's stable type name, e.g. "member.invited".
type Type string

// The event vocabulary. These names are stored forever: never rename one.
const (
	GroupCreated              Type = "group.created"
	GroupUpdated              Type = "group.updated"
	GroupDismissed            Type = "group.dismissed"
	GroupOwnershipTransferred Type = "group.ownership_transferred"
	GroupMuted                Type = "group.muted"
	GroupUnmuted              Type = "group.unmuted"
	MemberInvited             Type = "member.invited"
	MemberJoined              Type = "member.joined"
	MemberJoinRequested       Type = "member.join_requested"
	MemberJoinApproved        Type = "member.join_approved"
	MemberJoinRejected        Type = "member.join_rejected"
	MemberRemoved             Type = "member.removed"
	MemberQuit                Type = "member.quit"
	MemberRoleChanged         Type = "member.role_changed"
	MemberMuted               Type = "member.muted"
	MemberUnmuted             Type = "member.unmuted"
	MemberInfoChanged         Type = "member.info_changed"
)

// AllTypes lists every event type, in a stable order.
var AllTypes = []Type{
	GroupCreated, GroupUpdated, GroupDismissed, GroupOwnershipTransferred, GroupMuted, GroupUnmuted,
	MemberInvited, MemberJoined, MemberJoinRequested, MemberJoinApproved, MemberJoinRejected,
	MemberRemoved, MemberQuit, MemberRoleChanged, MemberMuted, MemberUnmuted, MemberInfoChanged,
}

// Event is the envelope every event is stored and delivered in.
//
// ID is unique forever; Version is the group's version after this event
// (a group's versions are 1, 2, 3... without gaps); CommandID names the
// command that caused it and CorrelationID the wider operation it belongs to.
type Event struct {
	ID            string          `json:"id"`
	Type          Type            `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	GroupID       string          `json:"group_id"`
	Version       uint64          `json:"version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	CommandID     string          `json:"command_id"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Actor         string          `json:"actor"`
	Data          json.RawMessage `json:"data"`
}

// Commit is the unit appended to a group's subject: all events one command
// produced. One commit is one JetStream message, so its events are appended
// atomically (all or none) under one optimistic-concurrency check.
type Commit struct {
	CommandID string `json:"command_id"`
	// GeneratedCommandID is true when the caller gave no command_id and the
	// service made one up: nobody can retry with it, so it is not indexed
	// for idempotency.
	GeneratedCommandID bool    `json:"generated_command_id,omitempty"`
	Command            string  `json:"command"`
	GroupID            string  `json:"group_id"`
	Events             []Event `json:"events"`
}

// LastVersion is the group's version after the commit.
func (c Commit) LastVersion() uint64 {
	if len(c.Events) == 0 {
		return 0
	}
	return c.Events[len(c.Events)-1].Version
}

// Subject is the JetStream subject of a group's events.
func Subject(groupID string) string { return SubjectPrefix + groupID }

// SubjectPrefix prefixes every group's event subject.
const SubjectPrefix = "roster.events."

// StreamName is the event stream's name (public contract).
const StreamName = "ROSTER_EVENTS"
