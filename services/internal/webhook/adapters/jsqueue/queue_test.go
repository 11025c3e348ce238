package jsqueue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/jsqueue"
	"github.com/rosterhq/roster/services/internal/webhook/app"
)

func provision(t *testing.T) (*jsqueue.Queue, *natstest.Server) {
	t.Helper()
	srv := natstest.Start(t)
	q, err := jsqueue.Provision(context.Background(), srv.JS, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return q, srv
}

// Jobs with one MsgID are stored once; Head is a subject's oldest job.
func TestEnqueueDeduplicatesAndHead(t *testing.T) {
	q, srv := provision(t)
	ctx := context.Background()
	subject := jsqueue.DeliverySubject("ep", "G")
	if _, _, ok, err := q.Head(ctx, subject); err != nil || ok {
		t.Fatalf("empty queue: head ok %v, %v", ok, err)
	}
	for _, j := range []app.OutJob{
		{EndpointID: "ep", GroupID: "G", MsgID: "ep:e1", Body: []byte(`1`)},
		{EndpointID: "ep", GroupID: "G", MsgID: "ep:e1", Body: []byte(`1 again`)},
		{EndpointID: "ep", GroupID: "G", MsgID: "ep:e2", Body: []byte(`2`)},
		{EndpointID: "ep", GroupID: "H", MsgID: "ep:e3", Body: []byte(`3`)},
	} {
		if err := q.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	s, err := srv.JS.Stream(ctx, jsqueue.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("stored %d jobs, want 3 (one duplicate)", info.State.Msgs)
	}
	seq, body, ok, err := q.Head(ctx, subject)
	if err != nil || !ok || seq != 1 || string(body) != "1" {
		t.Fatalf("head of %s: seq %d body %q ok %v, %v", subject, seq, body, ok, err)
	}
}

// Attempt state is written with compare-and-set.
func TestStatesCompareAndSet(t *testing.T) {
	q, _ := provision(t)
	ctx := context.Background()
	st := q.States()
	if have, rev, err := st.Get(ctx, "ep.e1"); err != nil || rev != 0 || have.State != "" {
		t.Fatalf("absent state: %+v rev %d, %v", have, rev, err)
	}
	if err := st.Put(ctx, "ep.e1", app.JobState{Attempts: 1, State: app.StateRetrying}, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "ep.e1", app.JobState{Attempts: 1, State: app.StateRetrying}, 0); !errors.Is(err, app.ErrStateConflict) {
		t.Fatalf("second create: want ErrStateConflict, have %v", err)
	}
	have, rev, err := st.Get(ctx, "ep.e1")
	if err != nil || have.Attempts != 1 || rev == 0 {
		t.Fatalf("state: %+v rev %d, %v", have, rev, err)
	}
	if err := st.Put(ctx, "ep.e1", app.JobState{Attempts: 2, State: app.StateSucceeded}, rev+1); !errors.Is(err, app.ErrStateConflict) {
		t.Fatalf("update at a wrong revision: want ErrStateConflict, have %v", err)
	}
	if err := st.Put(ctx, "ep.e1", app.JobState{Attempts: 2, State: app.StateSucceeded}, rev); err != nil {
		t.Fatal(err)
	}
	if have, _, _ := st.Get(ctx, "ep.e1"); have.State != app.StateSucceeded || have.Attempts != 2 {
		t.Fatalf("after update: %+v", have)
	}
}
