package kvmodel

import (
	"strconv"
	"time"

	"github.com/rosterhq/roster/events/group"
)

// The member and user-index values are most of what a rebuild writes
// (two per member event). appendMember and appendUserGroup write the bytes
// json.Marshal writes for Member and UserGroup, without reflection, when
// every string is plain (printable ASCII that encoding/json does not
// escape: ids are [A-Za-z0-9_-], roles are words) and every time formats;
// otherwise they report false and the caller uses json.Marshal. Both paths
// must give the same bytes, whichever projector (live or rebuild) writes:
// TestFastEncodeMatchesJSON and FuzzFastEncode check it.

func appendMember(b []byte, groupID, userID string, m *group.Member) ([]byte, bool) {
	if !plain(groupID) || !plain(userID) || !plain(string(m.Role)) || !plain(m.Inviter) {
		return nil, false
	}
	b = append(b, `{"group_id":"`...)
	b = append(b, groupID...)
	b = append(b, `","user_id":"`...)
	b = append(b, userID...)
	b, ok := appendMembership(b, m)
	if !ok {
		return nil, false
	}
	if m.Inviter != "" {
		b = append(b, `,"inviter":"`...)
		b = append(b, m.Inviter...)
		b = append(b, '"')
	}
	if !m.MutedUntil.IsZero() {
		b = append(b, `,"muted_until":`...)
		if b, ok = appendTime(b, m.MutedUntil); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

func appendUserGroup(b []byte, groupID string, m *group.Member) ([]byte, bool) {
	if !plain(groupID) || !plain(string(m.Role)) {
		return nil, false
	}
	b = append(b, `{"group_id":"`...)
	b = append(b, groupID...)
	b, ok := appendMembership(b, m)
	if !ok {
		return nil, false
	}
	return append(b, '}'), true
}

// appendMembership writes the fields Member and UserGroup share, after an
// open string value: `","role":...,"joined_version":N`.
func appendMembership(b []byte, m *group.Member) ([]byte, bool) {
	b = append(b, `","role":"`...)
	b = append(b, m.Role...)
	b = append(b, `","joined_at":`...)
	b, ok := appendTime(b, m.JoinedAt)
	if !ok {
		return nil, false
	}
	b = append(b, `,"joined_version":`...)
	return strconv.AppendUint(b, m.JoinedVersion, 10), true
}

// appendTime writes t as time.Time.MarshalJSON does (the same RFC 3339
// formatter, in quotes).
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, false
	}
	return append(b, '"'), true
}

// plain reports whether json.Marshal writes s as is between quotes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
