package app

import (
	"context"
	"errors"
	"strings"

	"github.com/rosterhq/roster/events"
)

// EventFilter selects events for the events page: one group or all, one
// type ("member.invited"), a namespace ("member.*") or all.
type EventFilter struct {
	GroupID string
	Type    string
}

// Match reports whether e passes f's type filter (the group is filtered by
// the read itself).
func (f EventFilter) Match(e events.Event) bool {
	switch {
	case f.Type == "" || f.Type == "*":
		return true
	case strings.HasSuffix(f.Type, ".*"):
		return strings.HasPrefix(string(e.Type), strings.TrimSuffix(f.Type, "*"))
	default:
		return string(e.Type) == f.Type
	}
}

// StoredEvent is an event with the stream sequence of its commit.
type StoredEvent struct {
	Seq   uint64
	Event events.Event
}

// TailSize is how many commits back the events page starts its live tail,
// and MaxReplay the most events one replay shows.
const (
	TailSize  = 200
	MaxReplay = 500
)

// Tail is what the live tail shows next: the events stored after seq
// after (0: the last TailSize commits) that pass f, and the sequence to ask
// after next time.
func (a *App) Tail(ctx context.Context, f EventFilter, after uint64) ([]StoredEvent, uint64, error) {
	last, err := a.Events.LastSeq(ctx)
	if err != nil {
		return nil, after, err
	}
	if after == 0 {
		after = last - min(last, TailSize)
	}
	if after >= last {
		return nil, after, nil
	}
	out, err := a.read(ctx, f, EventRange{GroupID: f.GroupID, FromSeq: after + 1, ToSeq: last}, MaxReplay)
	if err != nil {
		return nil, after, err
	}
	next := last
	if len(out) == MaxReplay {
		next = out[len(out)-1].Seq
	}
	return out, next, nil
}

// Replay lists the events of commits fromSeq..toSeq (toSeq 0: to the end)
// that pass f, at most MaxReplay of them; more says the range holds more.
func (a *App) Replay(ctx context.Context, f EventFilter, fromSeq, toSeq uint64) (evs []StoredEvent, more bool, err error) {
	if toSeq != 0 && toSeq < fromSeq {
		return nil, false, &InputError{Field: "to_seq", Message: "is before from_seq"}
	}
	out, err := a.read(ctx, f, EventRange{GroupID: f.GroupID, FromSeq: max(fromSeq, 1), ToSeq: toSeq}, MaxReplay+1)
	if err != nil {
		return nil, false, err
	}
	if len(out) > MaxReplay {
		return out[:MaxReplay], true, nil
	}
	return out, false, nil
}

func (a *App) read(ctx context.Context, f EventFilter, r EventRange, limit int) ([]StoredEvent, error) {
	var out []StoredEvent
	err := a.Events.Read(ctx, r, func(seq uint64, e events.Event) error {
		if !f.Match(e) {
			return nil
		}
		out = append(out, StoredEvent{Seq: seq, Event: e})
		if len(out) >= limit {
			return ErrStop
		}
		return nil
	})
	if errors.Is(err, ErrStop) {
		err = nil
	}
	return out, err
}

// InputError is a form value the console refuses before asking anyone.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }
