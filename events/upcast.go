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
	{MemberMuted, 1}: upcastMemberMutedV1,
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
