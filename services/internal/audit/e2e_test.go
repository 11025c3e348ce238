package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	. "github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestSinkWritesEveryTableOnce drives the real command service (its audit
// Recorder is a Publisher) and publishes delivery attempts and endpoint
// changes; every record lands in its table exactly once, including events,
// which the sink reads from ROSTER_EVENTS.
func TestSinkWritesEveryTableOnce(t *testing.T) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	pub := StartPublisher(t, ns.JS)
	StartSink(t, ns.JS, SinkConfig{ClickHouse: ch})

	svc, err := groups.New(context.Background(), groups.Config{NC: ns.NC, JS: ns.JS, Log: zerolog.Nop(), Audit: pub})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svcDone := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(svcDone) }()
	t.Cleanup(func() { cancel(); <-svcDone })

	nc := ns.Connect(t)
	send := func(subject string, req map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(req)
		var msg *nats.Msg
		natstest.Eventually(t, 5*time.Second, func() error { // the service may still be starting
			var err error
			msg, err = nc.Request(subject, body, 2*time.Second)
			return err
		})
		var reply map[string]any
		if err := json.Unmarshal(msg.Data, &reply); err != nil {
			t.Fatal(err)
		}
		return reply
	}
	send("roster.cmd.group.create", map[string]any{"group_id": "A", "actor": "o", "name": "Group A", "join_policy": "invite_only"})
	send("roster.cmd.member.invite", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"a", "b"}})
	if r := send("roster.cmd.member.invite", map[string]any{"group_id": "A", "actor": "nobody", "user_ids": []string{"c"}}); r["error"] == nil {
		t.Fatalf("want a rejected command, have %v", r)
	}
	send("roster.cmd.member.remove", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"b"}})

	for i := range 3 {
		MustRecord(t, pub, SampleAttempt(i, "ep1"))
		MustRecord(t, pub, SampleChange(i, "ep1"))
	}
	// The same record twice (a publisher retry beyond the dedup window)
	// still makes one row.
	MustRecord(t, pub, SampleChange(0, "ep1"))
	FlushPublisher(t, pub)

	WaitRows(t, conn, ch.Database, "commands", 4, 10*time.Second)
	WaitRows(t, conn, ch.Database, "events", 4, 10*time.Second) // created, a+b invited, b removed
	WaitRows(t, conn, ch.Database, "delivery_attempts", 3, 10*time.Second)
	WaitRows(t, conn, ch.Database, "endpoint_changes", 3, 10*time.Second)

	// What the rows say.
	var rejected, accepted uint64
	if err := conn.QueryRow(context.Background(), "SELECT countIf(outcome = 'rejected'), countIf(outcome = 'accepted') FROM "+ch.Database+".commands FINAL WHERE group_id = 'A'").Scan(&rejected, &accepted); err != nil {
		t.Fatal(err)
	}
	if rejected != 1 || accepted != 3 {
		t.Errorf("commands of A: want 3 accepted and 1 rejected, have %d and %d", accepted, rejected)
	}
	var versions []uint64
	rows, err := conn.Query(context.Background(), "SELECT version FROM "+ch.Database+".events FINAL WHERE group_id = 'A' ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v uint64
		_ = rows.Scan(&v)
		versions = append(versions, v)
	}
	if fmt.Sprint(versions) != "[1 2 3 4]" {
		t.Errorf("event versions: want [1 2 3 4], have %v", versions)
	}
	var sig string
	if err := conn.QueryRow(context.Background(), "SELECT request_header_values[indexOf(request_header_names, 'webhook-signature')] FROM "+ch.Database+".delivery_attempts FINAL LIMIT 1").Scan(&sig); err != nil {
		t.Fatal(err)
	}
	if sig != RedactedValue {
		t.Errorf("webhook-signature: want %q in the row, have %q", RedactedValue, sig)
	}
}
