package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/schemas"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/audit/adapters/clickhouse"
	"github.com/rosterhq/roster/services/internal/audit/audittest"
)

// runAudit runs roster audit args against dsn (no NATS needed).
func runAudit(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(append([]string{"audit"}, append(args, "--clickhouse-dsn", dsn)...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestAuditCLIVerbs: migrate creates the trail, the read verbs answer from
// it (JSON and tables), and flags filter as documented.
func TestAuditCLIVerbs(t *testing.T) {
	dsn, db := audittest.DSN(t, "roster_test_cli_")
	out, err := runAudit(t, dsn, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	// Every migration shipped, however many there are.
	ms, err := schemas.ClickHouseMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, m := range ms {
		versions = append(versions, m.Version)
	}
	all := fmt.Sprint(versions)
	if !strings.Contains(out, "database "+db+": applied "+all) {
		t.Fatalf("migrate: want every migration %s applied to %s, have %q", all, db, out)
	}
	if out, err = runAudit(t, dsn, "migrate"); err != nil || !strings.Contains(out, "applied [], already present "+all) {
		t.Fatalf("migrate again: want nothing applied, have %q (%v)", out, err)
	}

	// Seed the trail as the sink writes it.
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	recs := []audit.Record{
		audit.Command{ID: "c1", CommandID: "x1", Subject: "roster.cmd.invite", GroupID: "G", Actor: "o", Outcome: audit.OutcomeAccepted, Version: 2, ReceivedAt: now.Add(-2 * time.Hour)},
		audit.Command{ID: "c2", CommandID: "x2", Subject: "roster.cmd.kick", GroupID: "G", Actor: "mallory", Outcome: audit.OutcomeRejected, ErrorCode: "forbidden", ReceivedAt: now.Add(-time.Minute)},
		audit.Event{ID: "e1", Type: "member.invited", SchemaVersion: 1, GroupID: "G", Version: 2, StreamSeq: 1, Actor: "o", OccurredAt: now.Add(-2 * time.Hour), Data: "{}"},
		audit.DeliveryAttempt{ID: "d1", EventID: "e1", EndpointID: "ep", Attempt: 1, State: "retrying", FailureClass: "timeout", StartedAt: now.Add(-90 * time.Minute)},
		audit.DeliveryAttempt{ID: "d2", EventID: "e1", EndpointID: "ep", Attempt: 2, State: "succeeded", Success: true, StartedAt: now.Add(-80 * time.Minute)},
		audit.EndpointChange{ID: "ch1", EndpointID: "ep", Change: "created", Actor: "admin", At: now.Add(-3 * time.Hour)},
	}
	store := clickhouse.NewStore(conn, db, audit.ClickHouseConfig{DSN: dsn}, zerolog.Nop())
	if err := store.Insert(context.Background(), recs); err != nil {
		t.Fatal(err)
	}

	ids := func(args ...string) []string {
		t.Helper()
		out, err := runAudit(t, dsn, append(args, "--json")...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var rows []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("%v: %v in %q", args, err, out)
		}
		have := make([]string, len(rows))
		for i, r := range rows {
			have[i] = r.ID
		}
		return have
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"commands, newest first", []string{"commands", "--group", "G"}, "c2 c1"},
		{"commands by user", []string{"commands", "--user", "mallory"}, "c2"},
		{"commands since a duration back", []string{"commands", "--since", "1h"}, "c2"},
		{"commands by outcome", []string{"commands", "--status", "accepted"}, "c1"},
		{"events by type", []string{"events", "--type", "member.invited"}, "e1"},
		{"every delivery attempt", []string{"deliveries", "--endpoint", "ep"}, "d1 d2"},
		{"each delivery's final state", []string{"deliveries", "--final"}, "d2"},
		{"attempts by class", []string{"deliveries", "--class", "timeout"}, "d1"},
		{"endpoint changes", []string{"endpoints", "--status", "created"}, "ch1"},
		{"limit", []string{"commands", "--limit", "1"}, "c2"},
		{"nothing matches: an empty array", []string{"events", "--group", "nobody"}, ""},
	} {
		if have := strings.Join(ids(tc.args...), " "); have != tc.want {
			t.Errorf("%s: want %q, have %q", tc.name, tc.want, have)
		}
	}

	out, err = runAudit(t, dsn, "commands", "--group", "G")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "RECEIVED") || !strings.Contains(lines[1], "forbidden") {
		t.Errorf("commands table: want a header and 2 rows, the rejected one first, have %q", out)
	}
	if out, err = runAudit(t, dsn, "endpoints", "--endpoint", "none"); err != nil || !strings.Contains(out, "(no rows)") {
		t.Errorf("empty table: want (no rows), have %q (%v)", out, err)
	}
	if _, err = runAudit(t, dsn, "commands", "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("bad --since: want an error naming the flag, have %v", err)
	}
}

func TestAuditParseWhen(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, in string
		want     time.Time
		err      bool
	}{
		{name: "empty", in: ""},
		{name: "duration back", in: "90m", want: now.Add(-90 * time.Minute)},
		{name: "RFC 3339", in: "2026-01-01T00:00:00Z", want: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "neither", in: "yesterday", err: true},
	} {
		have, err := parseWhen(tc.in, now)
		if (err != nil) != tc.err || !have.Equal(tc.want) {
			t.Errorf("%s: want %s (error %v), have %s (%v)", tc.name, tc.want, tc.err, have, err)
		}
	}
}
