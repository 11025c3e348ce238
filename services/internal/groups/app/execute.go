package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/jsonx"
)

// Command is one decoded group command: what the port made of a request.
type Command struct {
	// Name is the command's name ("member.invite"), the last two tokens of
	// its subject and its group.Command's Kind.
	Name      string
	GroupID   string
	Actor     string
	CommandID string
	// GeneratedID is set when the caller gave no command id and the app
	// made one up: it names the commit but is no idempotency key.
	GeneratedID bool
	// CorrelationID is copied into every event (default the command id).
	CorrelationID string
	// Change is what the domain decides (events/group).
	Change group.Command
}

// Request is a command as received, before it is decoded.
type Request struct {
	// Name is the command's name; Subject the subject it came on.
	Name    string
	Subject string
	// Payload is the body as received: the trail records its hash and size.
	Payload []byte
	// Decode checks the request and decodes the payload (the port's
	// parser). A failure is a rejection, recorded like any other.
	Decode func() (Command, error)
}

// Result is the outcome of one command.
type Result struct {
	Reply     *Reply
	Err       error
	Duplicate bool
}

// Reply is a success reply: the group's new version and the events appended.
type Reply struct {
	GroupID   string         `json:"group_id"`
	Version   uint64         `json:"version"`
	CommandID string         `json:"command_id"`
	Events    []events.Event `json:"events"`
}

// AppendJSON appends r as json.Marshal encodes it, by hand: the reply of
// every acknowledged command, so its encoding is on the command path
// (ADR 0114). ok is false when a value is off that path (a string to
// escape, data to compact): the caller encodes r with encoding/json then.
func (r *Reply) AppendJSON(b []byte) (_ []byte, ok bool) {
	if !jsonx.Plain(r.GroupID) || !jsonx.Plain(r.CommandID) {
		return b, false
	}
	n := 80 + len(r.GroupID) + len(r.CommandID)
	for i := range r.Events {
		n += jsonx.EventSize(&r.Events[i])
	}
	b = slices.Grow(b, n)
	b = append(b, `{"group_id":"`...)
	b = append(b, r.GroupID...)
	b = append(b, `","version":`...)
	b = strconv.AppendUint(b, r.Version, 10)
	b = append(b, `,"command_id":"`...)
	b = append(b, r.CommandID...)
	b = append(b, `","events":`...)
	if b, ok = eventstore.AppendEvents(b, r.Events); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// Execute is the use case of every group command: decode, admit the
// caller, decide against the group's current state (events/group) and
// append the commit with optimistic concurrency (Repository.Update), then
// record the outcome in the trail.
//
// The command-specific rules are the domain's (group.Decide); what a
// request may hold is the port's (one parser file per command in
// groups/ports). Here every command is handled alike.
//
// The result is what the caller may be told: an acceptance once the commit
// is stored (its audit row comes from the commit, see settle), any other
// outcome only once its audit record is stored.
func (a *App) Execute(ctx context.Context, req Request) Result {
	ch := make(chan Result, 1)
	a.Submit(ctx, req, func(res Result) { ch <- res })
	return <-ch
}

// Submit is Execute answered through done, called exactly once, with the
// command's append pipelined (Repository.UpdateAsync, docs/adr/0101):
// an unguarded command returns once its append is sent, and done runs
// when the ack has come, possibly on the event store's ack goroutine, so
// done must not block. A command the policy hooks guard, and every
// outcome that is not an acceptance, settles on a goroutine that may
// wait (for the hooks, for its audit record) before done runs. ctx must
// stay live until done.
func (a *App) Submit(ctx context.Context, req Request, done func(Result)) {
	rc := a.receive(req)
	a.execute(ctx, req, rc, func(res Result) {
		if res.Err == nil && !res.Duplicate {
			done(a.settle(ctx, req.Name, rc, res)) // no audit record: never waits
			return
		}
		// Stored in ROSTER_AUDIT before the caller is told: it waits, so
		// not on the ack goroutine.
		go func() { done(a.settle(ctx, req.Name, rc, res)) }()
	})
}

func (a *App) execute(ctx context.Context, req Request, rc *reception, done func(Result)) {
	cmd, err := req.Decode()
	rc.rec.GroupID, rc.rec.Actor, rc.rec.CommandID = cmd.GroupID, cmd.Actor, cmd.CommandID
	if err != nil {
		done(Result{Err: err})
		return
	}
	// The audit row keeps the claimed actor; a refusal's message names
	// the attested caller too.
	if a.callers != nil {
		if err := a.callers.Admit(ctx, cmd.Actor); err != nil {
			done(Result{Err: err})
			return
		}
	}
	if cmd.CommandID == "" {
		// No idempotency asked for; the id still names the commit.
		cmd.CommandID, cmd.GeneratedID = uuid.NewString(), true
		rc.rec.CommandID = cmd.CommandID
	}
	if cmd.CorrelationID == "" {
		cmd.CorrelationID = cmd.CommandID
	}
	limit := int64(0)
	if a.maxCommit != nil {
		limit = a.maxCommit()
	}
	if a.policy == nil || !a.policy.Guards(cmd.Name) {
		a.repo.UpdateAsync(ctx, cmd.GroupID, cmd.CommandID, a.decider(cmd, cmd.Change, func(*group.State) bool { return true }, rc, limit),
			func(up Updated, err error) { done(result(rc, up, err, limit)) })
		return
	}
	// Guarded: the hooks are asked outside the lock, and asked again when
	// the group changed in what they were told, so the rounds run here.
	var up Updated
	for round := 1; ; round++ {
		change, holds := cmd.Change, func(*group.State) bool { return true }
		v, skip, err := a.checkPolicy(ctx, cmd, rc.rec.ID)
		if err != nil {
			done(Result{Err: err})
			return
		}
		if !skip {
			change = v.Command
			if v.Holds != nil {
				holds = v.Holds
			}
		}
		up, err = a.repo.Update(ctx, cmd.GroupID, cmd.CommandID, a.decider(cmd, change, holds, rc, limit))
		if errors.Is(err, errPolicyStale) {
			if round < maxPolicyRounds {
				continue
			}
			err = events.Wrap(events.CodeConflict, err, "group %q changed while its policy hooks were asked, %d times; retry", cmd.GroupID, round)
		}
		done(result(rc, up, err, limit))
		return
	}
}

// result is the outcome of a command's update.
func result(rc *reception, up Updated, err error, limit int64) Result {
	rc.maybeStored = up.MaybeStored
	if errors.Is(err, ErrTooLarge) {
		// Refused before it was stored (by the client, or by the stream):
		// surely unapplied, and it never will fit.
		return Result{Err: errCommitTooLarge(0, limit, err)}
	}
	if err != nil {
		return Result{Err: err}
	}
	c := up.Commit
	return Result{Duplicate: up.Duplicate, Reply: &Reply{GroupID: c.GroupID, Version: c.LastVersion(), CommandID: c.CommandID, Events: c.Events}}
}

// maxPolicyRounds bounds how often one command asks its hooks again
// because the group changed in what they saw.
const maxPolicyRounds = 8

// errPolicyStale: the group changed, since the hooks were asked, in what
// they were told; the command asks them again on the new state.
var errPolicyStale = errors.New("the group changed in what its policy hooks were asked")

// checkPolicy asks the command's hooks outside any lock, on a copy of the
// group's state. skip: the command id is already stored, so the command
// is a retry answered with its original outcome, without the hooks.
func (a *App) checkPolicy(ctx context.Context, cmd Command, auditID string) (PolicyVerdict, bool, error) {
	commandID := cmd.CommandID
	if cmd.GeneratedID {
		commandID = ""
	}
	p, seen, err := a.repo.Peek(ctx, cmd.GroupID, commandID, cmd.Actor)
	if err != nil || seen {
		return PolicyVerdict{}, seen, err
	}
	v, err := a.policy.Check(ctx, PolicyInput{
		AuditID: auditID, GroupID: cmd.GroupID, Actor: cmd.Actor, CommandID: cmd.CommandID, Command: cmd.Change,
		State: p.State, Members: p.Members, Pending: p.Pending,
	})
	return v, false, err
}

// decider is the decide function of one command: change decided on the
// group's current state, unless the hooks' verdict no longer holds there.
func (a *App) decider(cmd Command, change group.Command, holds func(*group.State) bool, rc *reception, limit int64) func(*group.State) (Proposal, error) {
	return func(st *group.State) (Proposal, error) {
		if !holds(st) {
			return Proposal{}, errPolicyStale
		}
		cmd := cmd
		cmd.Change = change
		now := a.clock.Now()
		changes, err := group.Decide(st, cmd.Actor, cmd.Change, now)
		if err != nil {
			return Proposal{}, err
		}
		commit, err := buildCommit(st, cmd, changes, now)
		if err != nil {
			return Proposal{}, err
		}
		if err := checkCommitSize(commit, limit); err != nil {
			return Proposal{}, err
		}
		return Proposal{Commit: commit, Changes: changes, Headers: rc.commitHeaders()}, nil
	}
}

// receive starts the trail's record of req.
func (a *App) receive(req Request) *reception {
	sum := sha256.Sum256(req.Payload)
	return &reception{
		clock: a.clock,
		start: a.clock.Now(),
		rec: audit.Command{
			ID: uuid.NewString(), Subject: req.Subject, ReceivedAt: a.clock.Now().UTC(),
			PayloadHash: hex.EncodeToString(sum[:]), PayloadSize: len(req.Payload),
		},
	}
}
