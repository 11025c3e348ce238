package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// history generates valid commits for the probes that read a stream
// (rebuild), with the pure domain: each command is decided on the group's
// state and folded back, so versions, ids and data are what roster-groups
// would have appended. Each commit holds one event, so commits/s and
// events/s are the same unit for the baseline and for Roster.
type history struct {
	at time.Time
}

// group returns the commits of one group: a create with members-1 other
// members, then invites of one user each until it has n events.
func (h *history) group(gid string, members, n int) ([]events.Commit, error) {
	st := group.New(gid)
	cmds := make([]group.Command, 0, n)
	cmds = append(cmds, group.Create{Name: "bench " + gid, JoinPolicy: events.PolicyApproval, Members: users(gid+"-m", 0, members-1)})
	for i := 1; i < n; i++ {
		cmds = append(cmds, group.Invite{UserIDs: []string{gid + "-i" + strconv.Itoa(i)}})
	}
	out := make([]events.Commit, 0, n)
	for i, cmd := range cmds {
		changes, err := group.Decide(st, owner, cmd, h.at)
		if err != nil {
			return nil, fmt.Errorf("generate %s #%d: %w", gid, i, err)
		}
		cid := uuid.NewString()
		c := events.Commit{CommandID: cid, Command: cmd.Kind(), GroupID: gid}
		for j, ch := range changes {
			data, err := json.Marshal(ch.Data)
			if err != nil {
				return nil, err
			}
			id, err := uuid.NewV7()
			if err != nil {
				return nil, err
			}
			e := events.Event{ID: id.String(), Type: ch.Type, SchemaVersion: events.SchemaVersions[ch.Type], GroupID: gid,
				Version: st.Version + uint64(j) + 1, OccurredAt: h.at, CommandID: cid, CorrelationID: cid, Actor: owner, Data: data}
			c.Events = append(c.Events, e)
		}
		for _, e := range c.Events {
			if _, err := st.Apply(e); err != nil {
				return nil, fmt.Errorf("generate %s #%d: %w", gid, i, err)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// appendAsync publishes commits without waiting for each ack (the fastest
// way to fill a stream), with the headers roster-groups sets. It is only
// for filling a stream before a measurement: it skips the OCC check.
func appendAsync(ctx context.Context, js jetstream.JetStream, commits []events.Commit) error {
	for _, c := range commits {
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		m := nats.NewMsg(events.Subject(c.GroupID))
		m.Data = body
		m.Header.Set(eventstore.HeaderCommandID, c.CommandID)
		m.Header.Set(eventstore.HeaderCommand, c.Command)
		m.Header.Set(eventstore.HeaderLastVersion, strconv.FormatUint(c.LastVersion(), 10))
		m.Header.Set(eventstore.HeaderEventCount, strconv.Itoa(len(c.Events)))
		if _, err := js.PublishMsgAsync(m); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
