package ports

import "github.com/rosterhq/roster/events/wire"

// The request bodies of the most frequent commands fill themselves from
// the checked bytes (wire.Filler) instead of through encoding/json's
// reflection: the same fields, or a fallback to encoding/json for any
// value they do not read (FuzzFillersAgreeWithEncodingJSON). The envelope
// has no FillChecked of its own on purpose: a struct embedding it would
// inherit it and fill only the envelope.
var (
	_ wire.Filler = (*plainRequest)(nil)
	_ wire.Filler = (*userRequest)(nil)
	_ wire.Filler = (*reasonUsersRequest)(nil)
)

// fill sets the envelope's member name from value. known: name is an
// envelope member; ok: its value was read.
func (e *envelope) fill(name, value []byte) (known, ok bool) {
	var dst *string
	switch string(name) {
	case "group_id":
		dst = &e.GroupID
	case "actor":
		dst = &e.Actor
	case "command_id":
		dst = &e.CommandID
	default:
		return false, false
	}
	*dst, ok = wire.String(value)
	return true, ok
}

// FillChecked implements wire.Filler.
func (r *plainRequest) FillChecked(data []byte) bool {
	var f plainRequest
	if !wire.EachMember(data, func(name, value []byte) bool {
		known, ok := f.envelope.fill(name, value)
		return known && ok
	}) {
		return false
	}
	*r = f
	return true
}

// FillChecked implements wire.Filler.
func (r *userRequest) FillChecked(data []byte) bool {
	var f userRequest
	if !wire.EachMember(data, func(name, value []byte) bool {
		if known, ok := f.envelope.fill(name, value); known {
			return ok
		}
		if string(name) != "user_id" {
			return false
		}
		var ok bool
		f.UserID, ok = wire.String(value)
		return ok
	}) {
		return false
	}
	*r = f
	return true
}

// FillChecked implements wire.Filler.
func (r *reasonUsersRequest) FillChecked(data []byte) bool {
	var f reasonUsersRequest
	if !wire.EachMember(data, func(name, value []byte) bool {
		if known, ok := f.envelope.fill(name, value); known {
			return ok
		}
		var ok bool
		switch string(name) {
		case "user_ids":
			f.UserIDs, ok = wire.Strings(value)
		case "reason":
			f.Reason, ok = wire.String(value)
		}
		return ok
	}) {
		return false
	}
	*r = f
	return true
}
