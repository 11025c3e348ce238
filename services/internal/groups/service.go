// Package groups is the command side of Roster: the micro service
// roster-groups that receives group commands over NATS request/reply,
// decides them against the group's current state with the pure domain in
// events/group, and appends the resulting commit to ROSTER_EVENTS under an
// optimistic-concurrency check.
package groups

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/natsx"
)

// ServiceName is the micro service name (public contract).
const ServiceName = "roster-groups"

// SubjectPrefix prefixes every command subject: roster.cmd.<noun>.<verb>.
const SubjectPrefix = "roster.cmd."

// CorrelationHeader carries a caller's correlation id into the events.
const CorrelationHeader = "Roster-Correlation-Id"

// DuplicateHeader is set on a reply that repeats an earlier outcome.
const DuplicateHeader = "Roster-Duplicate"

const snapshotTimeout = 30 * time.Second

// Config configures the command service.
type Config struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Log   zerolog.Logger
	Audit audit.Recorder
	// Now is the clock; tests inject one.
	Now func() time.Time
	// Stream configures ROSTER_EVENTS when it has to be created.
	Stream eventstore.StreamConfig
	// Reads tunes how groups are read from ROSTER_EVENTS (batch size).
	Reads eventstore.Config
	// Snapshots enables the ROSTER_SNAPSHOTS object store (default true
	// through SnapshotEvery > 0); SnapshotEvery is how many events a group
	// may grow past its last snapshot before the next is written.
	SnapshotEvery uint64
	// CacheGroups bounds how many groups stay hot in memory.
	CacheGroups int
	// MaxConflictRetries bounds reload-and-redecide rounds on OCC conflicts.
	MaxConflictRetries int
	// CommandIndex bounds the per-group idempotency index to the most
	// recent N accepted commands that carried a caller's command_id
	// (default 10,000: far beyond any retry policy, and small in snapshots).
	CommandIndex int
	// MaxRequestBytes rejects larger requests as invalid_argument.
	MaxRequestBytes int
	// MaxHeaderBytes rejects requests whose headers are larger in total
	// (default DefaultMaxHeaderBytes) as invalid_argument.
	MaxHeaderBytes int
	// MaxInFlight bounds concurrently handled requests per process.
	MaxInFlight int
	// RequestTimeout bounds the handling of one request.
	RequestTimeout time.Duration
	// AuditTimeout bounds how long a reply that is not an acceptance
	// (rejected, duplicate, uncertain) waits for its audit record to be
	// stored in ROSTER_AUDIT (default 2s). It starts when the outcome is
	// known, not with the request: an uncertain outcome is most often the
	// request's own deadline passing during an append.
	AuditTimeout time.Duration
	// QueueGroup lets several processes share the load (default the
	// service name).
	QueueGroup string
	Version    string
	// Callers binds actors to the callers NATS attests (docs/adr/0053);
	// nil trusts every caller (the dev stack and in-process callers).
	Callers *Callers
}

func (c *Config) setDefaults() {
	if c.Audit == nil {
		c.Audit = audit.Nop{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 1000
	}
	if c.CacheGroups == 0 {
		c.CacheGroups = 100_000
	}
	if c.MaxConflictRetries == 0 {
		c.MaxConflictRetries = 16
	}
	if c.CommandIndex == 0 {
		c.CommandIndex = 10_000
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 256 << 10
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 512
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.AuditTimeout == 0 {
		c.AuditTimeout = 2 * time.Second
	}
	if c.QueueGroup == "" {
		c.QueueGroup = ServiceName
	}
	if c.Version == "" {
		c.Version = "0.1.0"
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.NC == nil {
		errs = append(errs, errors.New("NC (NATS connection) is required"))
	}
	if c.JS == nil {
		errs = append(errs, errors.New("JS (JetStream) is required"))
	}
	if c.CacheGroups < 1 {
		errs = append(errs, errors.New("CacheGroups must be positive"))
	}
	if c.MaxConflictRetries < 1 {
		errs = append(errs, errors.New("MaxConflictRetries must be positive"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("MaxInFlight must be positive"))
	}
	if c.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("MaxHeaderBytes must not be negative"))
	}
	if c.RequestTimeout <= 0 || c.AuditTimeout <= 0 {
		errs = append(errs, errors.New("RequestTimeout and AuditTimeout must be positive"))
	}
	if err := c.Stream.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Reads.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Service decides and appends group commands.
type Service struct {
	cfg   Config
	repo  *repository
	store EventStore
	sem   chan struct{}
	wg    sync.WaitGroup
	// serving: every roster-groups endpoint is registered (Ready).
	serving atomic.Bool
}

// Ready reports whether Run serves roster-groups (every endpoint
// registered, not yet stopping).
func (s *Service) Ready() bool { return s.serving.Load() }

// New provisions ROSTER_EVENTS and ROSTER_SNAPSHOTS and returns a service
// ready to Run.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("groups config: %w", err)
	}
	stream, err := eventstore.Provision(ctx, cfg.JS, cfg.Stream)
	if err != nil {
		return nil, err
	}
	snaps, err := provisionSnapshots(ctx, cfg.JS, cfg.Stream)
	if err != nil {
		return nil, err
	}
	store, err := eventstore.Open(cfg.JS, stream, cfg.Reads)
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg:   cfg,
		store: store,
		sem:   make(chan struct{}, cfg.MaxInFlight),
		repo: &repository{
			store: store, snaps: snaps, log: cfg.Log,
			maxCommands: cfg.CommandIndex, snapEvery: cfg.SnapshotEvery,
			lru: list.New(), index: map[string]*list.Element{}, max: cfg.CacheGroups,
		},
	}, nil
}

func provisionSnapshots(ctx context.Context, js jetstream.JetStream, sc eventstore.StreamConfig) (jetstream.ObjectStore, error) {
	replicas := sc.Replicas
	if replicas == 0 {
		replicas = 1
	}
	storage := jetstream.FileStorage
	if sc.Memory {
		storage = jetstream.MemoryStorage
	}
	os, err := js.ObjectStore(ctx, SnapshotBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		os, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      SnapshotBucket,
			Description: "Roster group snapshots (an optimisation: events are the truth)",
			Storage:     storage,
			Replicas:    replicas,
			Compression: false,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			os, err = js.ObjectStore(ctx, SnapshotBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", SnapshotBucket, err)
	}
	return os, nil
}

// Run serves roster-groups until ctx ends, then drains in-flight requests.
func (s *Service) Run(ctx context.Context) error {
	svc, err := micro.AddService(s.cfg.NC, micro.Config{
		Name:        ServiceName,
		Version:     s.cfg.Version,
		Description: "Roster group commands: decide and append membership events",
		QueueGroup:  s.cfg.QueueGroup,
	})
	if err != nil {
		return fmt.Errorf("add micro service: %w", err)
	}
	nouns := map[string]micro.Group{}
	for _, name := range CommandNames() {
		noun, verb, _ := strings.Cut(name, ".")
		g, ok := nouns[noun]
		if !ok {
			g = svc.AddGroup(SubjectPrefix + noun)
			nouns[noun] = g
		}
		if err := g.AddEndpoint(verb, s.handler(name), micro.WithEndpointMetadata(map[string]string{
			"description": "roster command " + name,
		})); err != nil {
			_ = svc.Stop()
			return fmt.Errorf("add endpoint %s: %w", name, err)
		}
	}
	s.cfg.Log.Info().Str("service", ServiceName).Int("endpoints", len(parsers)).Msg("serving group commands")
	s.serving.Store(true)
	<-ctx.Done()
	s.serving.Store(false)
	err = svc.Stop()
	s.wg.Wait()
	s.repo.snapWG.Wait()
	return err
}

// CommandNames lists every command name ("group.create", ...), sorted.
func CommandNames() []string {
	names := make([]string, 0, len(parsers))
	for n := range parsers {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

// handler hands each request to its own goroutine (micro calls handlers
// one at a time per endpoint), bounded by MaxInFlight. The goroutine
// answers on the request's reply subject itself: micro's Request may not be
// used after the handler returned. Consequently micro's own stats count
// requests but not errors or latency; roster_commands_total and
// roster_command_duration_seconds carry those.
func (s *Service) handler(name string) micro.HandlerFunc {
	return func(req micro.Request) {
		data, reply := req.Data(), req.Reply()
		corr, info := "", ""
		var refused error
		if h := req.Headers(); h != nil {
			if n := headerBytes(h); n > s.cfg.MaxHeaderBytes {
				refused = events.Errorf(events.CodeInvalidArgument, "headers: %d bytes, at most %d", n, s.cfg.MaxHeaderBytes)
			} else {
				corr = nats.Header(h).Get(CorrelationHeader)
			}
			info = nats.Header(h).Get(RequestInfoHeader)
		}
		s.sem <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer func() { <-s.sem; s.wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
			defer cancel()
			ctx = withCaller(ctx, info)
			res := s.run(ctx, name, data, corr, refused)
			if reply == "" {
				return // published without a reply subject: nobody to answer
			}
			if err := s.cfg.NC.PublishMsg(replyMsg(reply, res)); err != nil {
				s.cfg.Log.Warn().Err(err).Str("command", name).Msg("reply failed")
			}
		}()
	}
}

// Result is the outcome of one command.
type Result struct {
	Reply     *Reply
	Err       error
	Duplicate bool
}

// replyMsg encodes a result as micro does: a failure carries the micro
// error headers (Nats-Service-Error-Code, Nats-Service-Error) and our typed
// body {"error":{"code","message"}}.
func replyMsg(subject string, res Result) *nats.Msg {
	msg := nats.NewMsg(subject)
	if res.Err != nil {
		code := wireCode(res.Err)
		text := res.Err.Error()
		var de *events.Error
		if errors.As(res.Err, &de) {
			text = de.Message
		}
		msg.Data, _ = json.Marshal(ErrorReply{Error: ErrorBody{Code: code, Message: text}})
		msg.Header.Set(micro.ErrorCodeHeader, statusOf(code))
		msg.Header.Set(micro.ErrorHeader, string(code)+": "+text)
		return msg
	}
	msg.Data, _ = json.Marshal(res.Reply)
	if res.Duplicate {
		msg.Header.Set(DuplicateHeader, "true")
	}
	return msg
}

// statusOf maps a code to the micro error header's numeric code.
func statusOf(c events.Code) string {
	switch c {
	case events.CodeInvalidArgument:
		return "400"
	case events.CodeForbidden:
		return "403"
	case events.CodeNotFound:
		return "404"
	case events.CodeAlreadyExists, events.CodeConflict:
		return "409"
	case events.CodeFailedPrecondition:
		return "412"
	case events.CodeUnavailable:
		return "503"
	case events.CodeTimeout:
		return "504"
	}
	return "500"
}

// Execute decides and appends one command given as its request body. It is
// what the NATS endpoint calls; tests and benchmarks may call it directly.
//
// The result is what the caller may be told: an acceptance once the commit
// is stored (its audit row comes from the commit, see settle), any other
// outcome only once its audit record is stored.
func (s *Service) Execute(ctx context.Context, name string, data []byte, correlationID string) Result {
	return s.run(ctx, name, data, correlationID, nil)
}

// run is Execute for a request the transport may already have refused
// (refused != nil: its headers were too large), so that a refusal is
// audited and counted like any other.
func (s *Service) run(ctx context.Context, name string, data []byte, correlationID string, refused error) Result {
	sum := sha256.Sum256(data)
	rc := &reception{
		start: time.Now(),
		rec: audit.Command{
			ID: uuid.NewString(), Subject: SubjectPrefix + name, ReceivedAt: s.cfg.Now().UTC(),
			PayloadHash: hex.EncodeToString(sum[:]), PayloadSize: len(data),
		},
	}
	if refused != nil {
		return s.settle(ctx, name, rc, Result{Err: refused})
	}
	return s.settle(ctx, name, rc, s.decide(ctx, name, data, correlationID, rc))
}

func (s *Service) decide(ctx context.Context, name string, data []byte, correlationID string, rc *reception) Result {
	parse, ok := parsers[name]
	if !ok {
		return Result{Err: events.Errorf(events.CodeInvalidArgument, "unknown command %q", name)}
	}
	if len(data) > s.cfg.MaxRequestBytes {
		return Result{Err: events.Errorf(events.CodeInvalidArgument, "payload: %d bytes exceeds the limit of %d", len(data), s.cfg.MaxRequestBytes)}
	}
	// Before anything is decided: the id is copied into every event.
	if err := ValidateCorrelationID(correlationID); err != nil {
		return Result{Err: err}
	}
	p, err := parse(data)
	// Audit what we could read even of a rejected request.
	rc.rec.GroupID, rc.rec.Actor, rc.rec.CommandID = p.GroupID, p.Actor, p.CommandID
	if err != nil {
		return Result{Err: err}
	}
	// The audit row keeps the claimed actor; a refusal's message names
	// the attested caller too.
	if err := s.cfg.Callers.admit(ctx, p.Actor); err != nil {
		return Result{Err: err}
	}
	if p.CommandID == "" {
		// No idempotency asked for; the id still names the commit.
		p.CommandID, p.generated = uuid.NewString(), true
		rc.rec.CommandID = p.CommandID
	}
	if correlationID == "" {
		correlationID = p.CommandID
	}
	return s.execute(ctx, name, p, correlationID, rc)
}

func (s *Service) execute(ctx context.Context, name string, p parsed, correlationID string, rc *reception) Result {
	unlock := s.repo.lock(p.GroupID)
	defer unlock()
	agg, hot, err := s.repo.get(ctx, p.GroupID)
	if err != nil {
		return Result{Err: unavailable(err)}
	}
	cacheResult(hot)
	// fresh is true while agg is known to include every commit stored at
	// the time it was loaded. A hot aggregate may be stale when another
	// process appended meanwhile: appends are protected by the OCC check,
	// but a rejection (or a duplicate check) is only trusted on fresh state.
	fresh := !hot
	refresh := func() error {
		if err := s.repo.catchUp(ctx, agg); err != nil {
			s.repo.evict(p.GroupID)
			return unavailable(err)
		}
		fresh = true
		return nil
	}
	for attempt := 0; ; attempt++ {
		if rec, ok := agg.Commands[p.CommandID]; ok {
			return s.replay(ctx, p, rec)
		}
		now := s.cfg.Now()
		changes, err := group.Decide(agg.State, p.Actor, p.cmd, now)
		if err != nil && !fresh {
			if err := refresh(); err != nil {
				return Result{Err: err}
			}
			continue
		}
		if err != nil {
			return Result{Err: err}
		}
		commit, err := buildCommit(agg.State, name, p, correlationID, changes, now)
		if err != nil {
			return Result{Err: err}
		}
		if err := checkCommitSize(commit, s.cfg.NC.MaxPayload()); err != nil {
			return Result{Err: err}
		}
		res, err := s.store.Append(ctx, commit, agg.Seq, rc.commitHeaders()...)
		if isTooLarge(err) {
			// Refused before it was stored (by the client, or by the
			// stream): surely unapplied, and it never will fit.
			return Result{Err: errCommitTooLarge(0, s.cfg.NC.MaxPayload())}
		}
		if !errors.Is(err, eventstore.ErrConflict) {
			// Stored (now, or before: a duplicate), or failed in a way that
			// does not say it was not (timeout, lost connection): only a
			// definite conflict leaves the command surely unapplied.
			rc.maybeStored = true
		}
		if errors.Is(err, eventstore.ErrConflict) {
			conflicts.Inc()
			if attempt+1 >= s.cfg.MaxConflictRetries {
				return Result{Err: events.Errorf(events.CodeConflict, "group %q changed concurrently %d times; retry", p.GroupID, attempt+1)}
			}
			// Two processes hammering one group can keep beating each
			// other to the append; a short random pause after repeated
			// losses breaks the lockstep.
			if attempt > 0 {
				if err := conflictPause(ctx, attempt); err != nil {
					return Result{Err: unavailable(err)}
				}
			}
			if err := refresh(); err != nil {
				return Result{Err: err}
			}
			continue
		}
		if err != nil {
			return Result{Err: unavailable(err)}
		}
		if res.Duplicate {
			// JetStream already holds this command's commit: fold what we
			// missed and answer from the index.
			if err := refresh(); err != nil {
				return Result{Err: err}
			}
			rec, ok := agg.Commands[p.CommandID]
			if !ok {
				return Result{Err: events.Errorf(events.CodeInternal, "command %q reported stored at %d but not found in group %q", p.CommandID, res.Seq, p.GroupID)}
			}
			return s.replay(ctx, p, rec)
		}
		if err := agg.applyOwn(res.Seq, commit, changes, s.cfg.CommandIndex); err != nil {
			// The stored commit is the truth; our copy is suspect.
			s.repo.evict(p.GroupID)
			return Result{Err: events.Errorf(events.CodeInternal, "fold own commit: %v", err)}
		}
		if agg.State.Version-agg.SnapshotVersion >= s.cfg.SnapshotEvery {
			s.repo.snapshot(agg)
		}
		return Result{Reply: &Reply{GroupID: p.GroupID, Version: commit.LastVersion(), CommandID: p.CommandID, Events: commit.Events}}
	}
}

// replay answers a repeated command with its original outcome.
func (s *Service) replay(ctx context.Context, p parsed, rec commandRecord) Result {
	stored, err := s.store.Get(ctx, rec.Seq)
	if err != nil {
		return Result{Err: unavailable(err)}
	}
	c := stored.Commit
	return Result{Duplicate: true, Reply: &Reply{GroupID: c.GroupID, Version: c.LastVersion(), CommandID: c.CommandID, Events: c.Events}}
}

func buildCommit(st *group.State, name string, p parsed, correlationID string, changes []group.Change, now time.Time) (events.Commit, error) {
	c := events.Commit{CommandID: p.CommandID, GeneratedCommandID: p.generated, Command: name, GroupID: p.GroupID, Events: make([]events.Event, 0, len(changes))}
	at := now.UTC()
	for i, ch := range changes {
		data, err := json.Marshal(ch.Data)
		if err != nil {
			return c, fmt.Errorf("encode %s: %w", ch.Type, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return c, fmt.Errorf("event id: %w", err)
		}
		c.Events = append(c.Events, events.Event{
			ID: id.String(), Type: ch.Type, SchemaVersion: events.SchemaVersions[ch.Type],
			GroupID: p.GroupID, Version: st.Version + uint64(i) + 1, OccurredAt: at,
			CommandID: p.CommandID, CorrelationID: correlationID, Actor: p.Actor, Data: data,
		})
	}
	return c, nil
}

// conflictPause sleeps a random time up to 2^attempt x 100µs (at most
// 25ms) or until ctx ends.
func conflictPause(ctx context.Context, attempt int) error {
	ceiling := min(100*time.Microsecond<<attempt, 25*time.Millisecond)
	t := time.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wireCode is err's wire code. A transport failure that reached the edge
// without a code (no responders, a timeout, a closed connection, JetStream
// or a stream leader unavailable) is "unavailable", which callers retry,
// never "internal".
func wireCode(err error) events.Code {
	c := events.CodeOf(err)
	if c == events.CodeInternal && natsx.Unavailable(err) {
		return events.CodeUnavailable
	}
	return c
}

func unavailable(err error) error {
	return &events.Error{Code: events.CodeUnavailable, Message: err.Error()}
}
