package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// An Upcaster lifts one event from schema version N to N+1. It sees the
// whole envelope (some upcasts need occurred_at) and returns the new data.
type Upcaster func(e Event) (json.RawMessage, error)

type upcastKey struct {
	t    Type
	from int
}

// upcasters maps (type, from-version) to the step that lifts it by one.
var upcasters = map[upcastKey]Upcaster{
	{MemberMuted, 1}:  upcastMemberMutedV1,
	{GroupCreated, 1}: upcastGroupCreatedV1,
	// Version 2 of these only added optional fields (OpenIM's group model,
	// issue 12): a version 1 body is a valid version 2 body meaning the
	// same, with the new fields unset.
	{GroupUpdated, 1}:        sameData,
	{GroupDismissed, 1}:      sameData,
	{MemberInvited, 1}:       sameData,
	{MemberJoined, 1}:        sameData,
	{MemberJoinRequested, 1}: sameData,
	{MemberJoinApproved, 1}:  sameData,
	{MemberRemoved, 1}:       sameData,
}

// sameData is the upcast of a version that only added optional fields.
func sameData(e Event) (json.RawMessage, error) { return e.Data, nil }

// group.created v1 had no creator: the owner created the group (v1's only
// way), so v2's Creator is the owner.
func upcastGroupCreatedV1(e Event) (json.RawMessage, error) {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, err
	}
	if _, ok := d["creator"]; !ok {
		if owner, ok := d["owner"]; ok {
			d["creator"] = owner
		}
	}
	return json.Marshal(d)
}

// Upcast lifts e to the current schema version of its type, one version at a
// time. An event already current is returned unchanged. An event newer than
// this code knows, or of an unknown type, is an error: never guess meaning.
func Upcast(e Event) (Event, error) {
	current, ok := SchemaVersions[e.Type]
	if !ok {
		return e, fmt.Errorf("upcast %s: unknown event type %q", e.ID, e.Type)
	}
	if e.SchemaVersion == 0 {
		e.SchemaVersion = 1
	}
	if e.SchemaVersion > current {
		return e, fmt.Errorf("upcast %s: %s schema version %d is newer than supported %d", e.ID, e.Type, e.SchemaVersion, current)
	}
	for e.SchemaVersion < current {
		up, ok := upcasters[upcastKey{e.Type, e.SchemaVersion}]
		if !ok {
			return e, fmt.Errorf("upcast %s: no upcaster for %s v%d", e.ID, e.Type, e.SchemaVersion)
		}
		data, err := up(e)
		if err != nil {
			return e, fmt.Errorf("upcast %s: %s v%d: %w", e.ID, e.Type, e.SchemaVersion, err)
		}
		e.Data = data
		e.SchemaVersion++
	}
	return e, nil
}

// member.muted v1 stored {"user_id","duration_seconds"} relative to the
// event's time; v2 stores the absolute {"until"}.
func upcastMemberMutedV1(e Event) (json.RawMessage, error) {
	var v1 struct {
		UserID          string `json:"user_id"`
		DurationSeconds int64  `json:"duration_seconds"`
	}
	if err := json.Unmarshal(e.Data, &v1); err != nil {
		return nil, err
	}
	v2 := MemberMutedData{
		UserID: v1.UserID,
		Until:  e.OccurredAt.Add(time.Duration(v1.DurationSeconds) * time.Second).UTC(),
	}
	return json.Marshal(v2)
}

// Decode upcasts e and unmarshals its data into the current data type.
func Decode(e Event) (Event, any, error) {
	e, err := Upcast(e)
	if err != nil {
		return e, nil, err
	}
	d := NewData(e.Type)
	if d == nil {
		return e, nil, fmt.Errorf("decode %s: unknown event type %q", e.ID, e.Type)
	}
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, d); err != nil {
			return e, nil, fmt.Errorf("decode %s (%s): %w", e.ID, e.Type, err)
		}
	}
	return e, d, nil
}
