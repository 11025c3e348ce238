package kvmodel

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// checkEncode fails unless memberValues writes json.Marshal's bytes, and
// reports whether the fast path took the member.
func checkEncode(t *testing.T, g, u string, m *group.Member) bool {
	t.Helper()
	wantM, err1 := json.Marshal(memberFromState(g, u, m))
	wantU, err2 := json.Marshal(UserGroup{GroupID: g, Role: m.Role, JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion})
	mv, uv, err := memberValues(g, u, m)
	if (err1 != nil || err2 != nil) != (err != nil) {
		t.Fatalf("errors differ: json %v %v, memberValues %v", err1, err2, err)
	}
	if err == nil && (string(mv) != string(wantM) || string(uv) != string(wantU)) {
		t.Fatalf("bytes differ:\nhave %s\nwant %s\nhave %s\nwant %s", mv, wantM, uv, wantU)
	}
	_, fast := appendMember(nil, g, u, m)
	return fast
}

func TestFastEncodeMatchesJSON(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011120, time.UTC)
	for _, tc := range []struct {
		name     string
		g, u     string
		m        group.Member
		wantFast bool
	}{
		{name: "member", g: "g-1", u: "u_2", m: group.Member{Role: events.RoleMember, JoinedAt: at, JoinedVersion: 7, Inviter: "o"}, wantFast: true},
		{name: "owner, no inviter", g: "g", u: "o", m: group.Member{Role: events.RoleOwner, JoinedAt: at, JoinedVersion: 1}, wantFast: true},
		{name: "muted, other zone", g: "g", u: "u", m: group.Member{Role: events.RoleAdmin, JoinedAt: at.In(time.FixedZone("x", -5400)), MutedUntil: at.Add(time.Hour), JoinedVersion: 1 << 63}, wantFast: true},
		{name: "zero times", g: "g", u: "u", m: group.Member{}, wantFast: true},
		{name: "escaped id", g: "g<", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at}},
		{name: "non-ASCII inviter", g: "g", u: "u", m: group.Member{Role: events.RoleMember, Inviter: "é", JoinedAt: at}},
		{name: "quote", g: "g", u: `u"`, m: group.Member{Role: events.RoleMember, JoinedAt: at}},
		{name: "OpenIM fields", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at, Inviter: "a", Profile: &events.Profile{Nickname: "Café 名前 😀", FaceURL: "https://f/x.png?a=1", Ex: "{\"k\":[1]}"},
			JoinSource: events.JoinByQRCode, InviterUserID: "b"}},
		{name: "OpenIM fields verbatim", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at, Profile: &events.Profile{Nickname: "名前", FaceURL: "https://f/x.png", Ex: "x y\x7f"},
			JoinSource: events.JoinByInvitation, InviterUserID: "b"}, wantFast: true},
		{name: "nickname with a line separator", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at, Profile: &events.Profile{Nickname: "a\u2028b"}}},
		{name: "ex with HTML", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at, Profile: &events.Profile{Ex: "<b>"}}},
		{name: "invalid UTF-8 face_url", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at, Profile: &events.Profile{FaceURL: "\xff"}}},
		{name: "non-ASCII inviter_user_id", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: at, InviterUserID: "é"}},
		{name: "year out of range", g: "g", u: "u", m: group.Member{Role: events.RoleMember, JoinedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if fast := checkEncode(t, tc.g, tc.u, &tc.m); fast != tc.wantFast {
				t.Fatalf("fast path: %v, want %v", fast, tc.wantFast)
			}
		})
	}
}

func FuzzFastEncode(f *testing.F) {
	f.Add("g", "u", "member", "o", int64(1767225600), int64(5), uint64(3), int64(0), "", "", 0)
	f.Add("g<", "u\u2028", "admin", "", int64(-62135596800), int64(0), uint64(0), int64(-3600), "名前", "<x>", 4)
	f.Fuzz(func(t *testing.T, g, u, role, inviter string, sec, nsec int64, ver uint64, offset int64, nick, ex string, source int) {
		zone := time.FixedZone("z", int(offset%86400))
		at := time.Unix(sec, nsec).In(zone)
		m := &group.Member{Role: events.Role(role), JoinedAt: at, JoinedVersion: ver, Inviter: inviter,
			JoinSource: events.JoinSource(source), InviterUserID: inviter}
		if nick != "" || ex != "" {
			m.Profile = &events.Profile{Nickname: nick, FaceURL: ex + nick, Ex: ex}
		}
		if sec%3 == 0 {
			m.MutedUntil = at.Add(time.Duration(nsec))
		}
		checkEncode(t, g, u, m)
	})
}
