package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// FanOutBatch makes one job per endpoint and group of a batch, in stream
// order, at most MaxJobUnits units each; a job of one unit is the job
// FanOut makes (same body and MsgID), so old and new jobs share a format.
func TestFanOutBatchBatchesPerEndpointAndGroup(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if _, err := e.app.CreateEndpoint(ctx, app.CreateRequest{Actor: "ops", ID: id, URL: "https://hooks.example.com/" + id}); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(g string, v int) events.Event {
		return events.Event{ID: fmt.Sprintf("0194a1b2-0000-7000-8000-%s%011d", g, v), Type: events.Type("member.quit"), GroupID: g,
			Version: uint64(v), SchemaVersion: 1, OccurredAt: t0, Actor: "o", Data: json.RawMessage(`{"user_id":"u"}`)}
	}
	// Group 1 gets MaxJobUnits+1 events, group 2 one, interleaved.
	var commits []app.Commit
	var refanned []bool
	seq := uint64(8)
	for v := 1; v <= app.MaxJobUnits+1; v++ {
		commits = append(commits, app.Commit{Seq: seq, Time: t0, Events: []events.Event{ev("1", v)}})
		refanned = append(refanned, false)
		seq++
		if v == 2 {
			commits = append(commits, app.Commit{Seq: seq, Time: t0, Events: []events.Event{ev("2", 1)}})
			refanned = append(refanned, false)
			seq++
		}
	}
	jobs, err := e.app.FanOutBatch(commits, refanned)
	if err != nil {
		t.Fatal(err)
	}
	// Per endpoint: group 1's first MaxJobUnits, group 2's one, group 1's last.
	var got []string
	for _, j := range jobs {
		var job app.Job
		if err := json.Unmarshal(j.Body, &job); err != nil {
			t.Fatal(err)
		}
		us := job.Units()
		for i, u := range us {
			if i > 0 && u.Event.Version != us[i-1].Event.Version+1 {
				t.Fatalf("job %s: units out of stream order", j.MsgID)
			}
		}
		if j.Units != len(us) || j.GroupID != job.Event.GroupID {
			t.Fatalf("job %s: %d units counted, %d carried; group %s", j.MsgID, j.Units, len(us), j.GroupID)
		}
		got = append(got, fmt.Sprintf("%s/%s:%d", j.EndpointID, j.GroupID, len(us)))
	}
	want := fmt.Sprint([]string{"a/1:32", "b/1:32", "a/2:1", "b/2:1", "a/1:1", "b/1:1"})
	if fmt.Sprint(got) != want {
		t.Fatalf("jobs %v, want %s", got, want)
	}
	single, err := e.app.FanOut(commits[2], false)
	if err != nil {
		t.Fatal(err)
	}
	if string(single[0].Body) != string(jobs[2].Body) || single[0].MsgID != jobs[2].MsgID {
		t.Fatalf("a one-unit batch differs from FanOut's job:\n%s %s\n%s %s", jobs[2].MsgID, jobs[2].Body, single[0].MsgID, single[0].Body)
	}
	if jobs[0].MsgID == single[0].MsgID || jobs[0].MsgID == "a:"+commits[0].Events[0].ID {
		t.Fatalf("batched job's MsgID %s must name its units, not only its first event", jobs[0].MsgID)
	}
}
