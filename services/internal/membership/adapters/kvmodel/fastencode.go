package kvmodel

import (
	"strconv"

	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/jsonx"
)

// The member and user-index values are most of what a rebuild writes
// (two per member event). appendMember and appendUserGroup write the bytes
// json.Marshal writes for Member and UserGroup, without reflection, when
// every id is plain (jsonx.Plain: ids are [A-Za-z0-9_-], roles are
// words), every free text is verbatim (jsonx.Verbatim) and every time
// formats; otherwise they report false and the
// caller uses json.Marshal. Both paths must give the same bytes, whichever
// projector (live or rebuild) writes: TestFastEncodeMatchesJSON and
// FuzzFastEncode check it. ADR 0074 keeps this path: it is several times
// faster than the fastest library measured.

func appendMember(b []byte, groupID, userID string, m *group.Member) ([]byte, bool) {
	b = append(b, `{"group_id":`...)
	b, ok := jsonx.AppendPlain(b, groupID)
	if !ok {
		return nil, false
	}
	b = append(b, `,"user_id":`...)
	if b, ok = jsonx.AppendPlain(b, userID); !ok {
		return nil, false
	}
	if b, ok = appendMembership(b, m); !ok {
		return nil, false
	}
	if m.Inviter != "" {
		b = append(b, `,"inviter":`...)
		if b, ok = jsonx.AppendPlain(b, m.Inviter); !ok {
			return nil, false
		}
	}
	if !m.MutedUntil.IsZero() {
		b = append(b, `,"muted_until":`...)
		if b, ok = jsonx.AppendTime(b, m.MutedUntil); !ok {
			return nil, false
		}
	}
	// OpenIM's member fields (issue 12): free text written as is when
	// json.Marshal would (jsonx.Verbatim), so a non-ASCII nickname stays
	// on the fast path.
	for _, f := range [...]struct{ key, v string }{
		{`,"nickname":`, m.Nickname()}, {`,"face_url":`, m.FaceURL()}, {`,"ex":`, m.Ex()},
	} {
		if f.v == "" {
			continue
		}
		b = append(b, f.key...)
		if b, ok = jsonx.AppendVerbatim(b, f.v); !ok {
			return nil, false
		}
	}
	if m.JoinSource != 0 {
		b = append(b, `,"join_source":`...)
		b = strconv.AppendInt(b, int64(m.JoinSource), 10)
	}
	if m.InviterUserID != "" {
		b = append(b, `,"inviter_user_id":`...)
		if b, ok = jsonx.AppendPlain(b, m.InviterUserID); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

func appendUserGroup(b []byte, groupID string, m *group.Member) ([]byte, bool) {
	b = append(b, `{"group_id":`...)
	b, ok := jsonx.AppendPlain(b, groupID)
	if !ok {
		return nil, false
	}
	if b, ok = appendMembership(b, m); !ok {
		return nil, false
	}
	return append(b, '}'), true
}

// appendMembership writes the fields Member and UserGroup share:
// `,"role":...,"joined_version":N`.
func appendMembership(b []byte, m *group.Member) ([]byte, bool) {
	b = append(b, `,"role":`...)
	b, ok := jsonx.AppendPlain(b, string(m.Role))
	if !ok {
		return nil, false
	}
	b = append(b, `,"joined_at":`...)
	if b, ok = jsonx.AppendTime(b, m.JoinedAt); !ok {
		return nil, false
	}
	b = append(b, `,"joined_version":`...)
	return strconv.AppendUint(b, m.JoinedVersion, 10), true
}
