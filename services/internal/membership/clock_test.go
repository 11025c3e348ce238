package membership

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestProjectorWaitsForTheStreamOnItsClock: a projector started before the
// command service provisions ROSTER_EVENTS waits for it on its clock (one
// second between looks); with a fake clock the test moves time instead of
// waiting it out, and the projector then projects.
func TestProjectorWaitsForTheStreamOnItsClock(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.ConnectJS(t)
	clock := clockwork.NewFakeClock()
	p, err := NewProjector(Config{JS: js, Log: testLog(t), AckWait: 2 * time.Second, RetryDelay: 20 * time.Millisecond, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	start(t, p.Run)
	ctx := context.Background()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: events.StreamName, Subjects: []string{events.SubjectPrefix + ">"}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, js: js, stream: stream, states: map[string]*group.State{}, lastSeq: map[string]uint64{},
		clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.nc = js.Conn()
	f.do("G", "o", group.Create{Name: "G"})
	clock.Advance(time.Second)
	natstest.Eventually(t, 10*time.Second, func() error {
		if p.Stats().Commits != 1 {
			return errors.New("the commit is not projected yet")
		}
		return nil
	})
	f.caughtUp(1, 10*time.Second)
}
