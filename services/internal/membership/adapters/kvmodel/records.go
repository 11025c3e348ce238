package kvmodel

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// The records this adapter stores are the app's types, byte for byte as
// encoding/json writes them (fastencode.go takes the common case).
type (
	GroupInfo = app.GroupInfo
	Member    = app.Member
	UserGroup = app.UserGroup
)

func memberFromState(groupID, userID string, m *group.Member) Member {
	return app.MemberFromState(groupID, userID, m)
}

func infoKey(groupID string) string           { return "g." + groupID }
func memberKey(groupID, userID string) string { return "m." + groupID + "." + userID }
func memberPrefix(groupID string) string      { return "m." + groupID + "." }
func userKey(userID, groupID string) string   { return "u." + userID + "." + groupID }
func userPrefix(userID string) string         { return "u." + userID + "." }

// lastToken returns the part of key after the last '.' (ids hold no '.').
func lastToken(key string) string { return key[strings.LastIndexByte(key, '.')+1:] }

// memberValues encodes a member's key and user-index key values: the same
// bytes whichever path (live or rebuild) writes them.
func memberValues(groupID, userID string, m *group.Member) (mv, uv []byte, err error) {
	if mv, ok := appendMember(make([]byte, 0, 192), groupID, userID, m); ok {
		if uv, ok := appendUserGroup(make([]byte, 0, 128), groupID, m); ok {
			return mv, uv, nil
		}
	}
	if mv, err = json.Marshal(memberFromState(groupID, userID, m)); err != nil {
		return nil, nil, fmt.Errorf("encode member %s of %s: %w", userID, groupID, err)
	}
	uv, err = json.Marshal(app.UserGroupFromState(groupID, m))
	if err != nil {
		return nil, nil, fmt.Errorf("encode index %s of %s: %w", userID, groupID, err)
	}
	return mv, uv, nil
}

// infoValue encodes a group's info key value.
func infoValue(w *app.GroupWrite) ([]byte, error) {
	b, err := json.Marshal(w.Info())
	if err != nil {
		return nil, fmt.Errorf("encode group %s: %w", w.State.ID, err)
	}
	return b, nil
}
