package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/openimtest"
)

func dataEvent(t *testing.T, id string, typ events.Type, data any) events.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{ID: id, Type: typ, SchemaVersion: events.SchemaVersions[typ], GroupID: "G", Version: 2, OccurredAt: t0, Actor: "o", Data: raw}
}

// removeCommit is one remove command of three users.
func removeCommit(t *testing.T, seq uint64) app.Commit {
	var evs []events.Event
	for i, u := range []string{"m1", "m2", "m3"} {
		e := dataEvent(t, "0194a1b2-0000-7000-8000-00000000010"+string(rune('1'+i)), events.MemberRemoved, events.MemberRemovedData{UserID: u, By: "o", Reason: "r"})
		e.Version = uint64(2 + i)
		evs = append(evs, e)
	}
	return app.Commit{Seq: seq, Time: t0, Events: evs}
}

func decodeJob(t *testing.T, o app.OutJob) app.Job {
	t.Helper()
	var j app.Job
	if err := json.Unmarshal(o.Body, &j); err != nil {
		t.Fatal(err)
	}
	return j
}

func jobsOf(jobs []app.OutJob, ep string) []app.OutJob {
	var out []app.OutJob
	for _, j := range jobs {
		if j.EndpointID == ep {
			out = append(out, j)
		}
	}
	return out
}

// The fan-out gives an openim endpoint one job for a remove command's
// kicks (named after the first event, carrying the rest), a standard
// endpoint one job per event; fanning the commit out again makes the same
// jobs under the same MsgIDs.
func TestOpenIMFanOutBatchesKicks(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	ctx := context.Background()
	for _, r := range []app.CreateRequest{
		{Actor: "ops", ID: "im", URL: "https://im.example.com/cb", Format: endpoint.FormatOpenIM, Ordered: true},
		{Actor: "ops", ID: "std", URL: "https://hooks.example.com/x"},
	} {
		if _, err := e.app.CreateEndpoint(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	c := removeCommit(t, 8)
	jobs, err := e.app.FanOut(c, false)
	if err != nil {
		t.Fatal(err)
	}
	im, std := jobsOf(jobs, "im"), jobsOf(jobs, "std")
	if len(im) != 1 || len(std) != 3 {
		t.Fatalf("want 1 openim job and 3 standard jobs, have %d and %d", len(im), len(std))
	}
	j := decodeJob(t, im[0])
	if im[0].MsgID != "im:"+c.Events[0].ID || !im[0].Ordered || j.Event.ID != c.Events[0].ID || len(j.Batch) != 2 ||
		j.Batch[0].ID != c.Events[1].ID || j.Batch[1].ID != c.Events[2].ID {
		t.Fatalf("openim job %s: event %s batch %d", im[0].MsgID, j.Event.ID, len(j.Batch))
	}
	for i, s := range std {
		if len(decodeJob(t, s).Batch) != 0 || s.MsgID != "std:"+c.Events[i].ID {
			t.Fatalf("standard job %d: %s", i, s.MsgID)
		}
	}
	again, err := e.app.FanOut(c, true)
	if err != nil {
		t.Fatal(err)
	}
	if a := jobsOf(again, "im"); len(a) != 1 || a[0].MsgID != im[0].MsgID {
		t.Fatalf("re-fanned: %+v", a)
	}

	// Redelivery re-sends the whole batch as one job.
	e.events.commits = append(e.events.commits, c)
	rep, err := e.app.Redeliver(ctx, app.RedeliverRequest{Actor: "ops", EndpointID: "im", SinceSeq: 8})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued != 1 || len(e.queue.jobs) != 1 {
		t.Fatalf("redeliver: %+v, %d jobs", rep, len(e.queue.jobs))
	}
	rj := decodeJob(t, e.queue.jobs[0])
	if e.queue.jobs[0].MsgID != "im:"+c.Events[0].ID+":"+rep.Generation || len(rj.Batch) != 2 {
		t.Fatalf("redelivered %s with %d batched", e.queue.jobs[0].MsgID, len(rj.Batch))
	}
}

// An openim endpoint gets an event OpenIM 3.8 has no after-callback for
// only when its event_types names it exactly.
func TestOpenIMExtensionsOnlyWhenNamed(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	ctx := context.Background()
	for _, r := range []app.CreateRequest{
		{Actor: "ops", ID: "all", URL: "https://im.example.com/cb", Format: endpoint.FormatOpenIM},
		{Actor: "ops", ID: "ns", URL: "https://im.example.com/cb", Format: endpoint.FormatOpenIM, EventTypes: []string{"member.*"}},
		{Actor: "ops", ID: "named", URL: "https://im.example.com/cb", Format: endpoint.FormatOpenIM, EventTypes: []string{"*", "member.invited"}},
		{Actor: "ops", ID: "std", URL: "https://hooks.example.com/x", EventTypes: []string{"member.*"}},
	} {
		if _, err := e.app.CreateEndpoint(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	inv := dataEvent(t, "0194a1b2-0000-7000-8000-000000000201", events.MemberInvited, events.MemberInvitedData{UserID: "u", Inviter: "o"})
	quit := dataEvent(t, "0194a1b2-0000-7000-8000-000000000202", events.MemberQuit, events.MemberQuitData{UserID: "q"})
	jobs, err := e.app.FanOut(app.Commit{Seq: 8, Time: t0, Events: []events.Event{inv}}, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		got = append(got, j.EndpointID)
	}
	if !slices.Equal(got, []string{"named", "std"}) {
		t.Fatalf("member.invited went to %v, want [named std]", got)
	}
	jobs, err = e.app.FanOut(app.Commit{Seq: 9, Time: t0, Events: []events.Event{quit}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 4 {
		t.Fatalf("member.quit (an OpenIM after-callback) went to %d endpoints, want 4", len(jobs))
	}
}

// A batch job is one request with every kicked user; when its endpoint
// was switched to the standard format meanwhile, the batch's other
// events become jobs of their own and nothing is lost.
func TestOpenIMKickBatchDelivery(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	var (
		mu   sync.Mutex
		reqs []*http.Request
		body [][]byte
	)
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs, body = append(reqs, r), append(body, b)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"actionCode":0}`))
	}))
	defer rv.Close()
	ctx := context.Background()
	if _, err := e.app.CreateEndpoint(ctx, app.CreateRequest{Actor: "ops", ID: "ep", URL: rv.URL + "/cb", Format: endpoint.FormatOpenIM}); err != nil {
		t.Fatal(err)
	}
	c := removeCommit(t, 8)
	jobs, err := e.app.FanOut(c, false)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("fan-out: %d jobs (%v)", len(jobs), err)
	}
	d := e.app.Deliverer("ep")
	m := newJobMsg(jobs[0].Body, 1)
	d.Deliver(ctx, m)
	if have := m.wait(t); have != "ack" {
		t.Fatalf("batch job: %q", have)
	}
	if len(reqs) != 1 || reqs[0].URL.Path != "/cb/callbackAfterKickGroupCommand" {
		t.Fatalf("want one afterKickGroup, have %d requests", len(reqs))
	}
	dec, err := openimtest.Decode(body[0])
	if err != nil {
		t.Fatal(err)
	}
	if r := dec.Req.(*openimtest.CallbackKillGroupMemberReq); !slices.Equal(r.KickedUserIDs, []string{"m1", "m2", "m3"}) {
		t.Fatalf("kickedUserIDs %v", r.KickedUserIDs)
	}
	if want := delivery.MessageID("ep", c.Events[0].ID); reqs[0].Header.Get("operationID") != want || reqs[0].Header.Get("webhook-id") != want {
		t.Fatalf("ids %q %q, want %q", reqs[0].Header.Get("operationID"), reqs[0].Header.Get("webhook-id"), want)
	}

	// The same job after a switch to the standard format.
	f := endpoint.FormatStandard
	if _, err := e.app.UpdateEndpoint(ctx, app.UpdateRequest{Actor: "ops", ID: "ep", Format: &f}); err != nil {
		t.Fatal(err)
	}
	m = newJobMsg(jobs[0].Body, 1)
	m.seq = 2
	d.Deliver(ctx, m)
	if have := m.wait(t); have != "ack" {
		t.Fatalf("split job: %q", have)
	}
	var split []string
	for _, q := range e.queue.jobs {
		j := decodeJob(t, q)
		if len(j.Batch) != 0 {
			t.Fatalf("split job %s still batched", q.MsgID)
		}
		split = append(split, q.MsgID)
	}
	if !slices.Equal(split, []string{"ep:" + c.Events[1].ID, "ep:" + c.Events[2].ID}) {
		t.Fatalf("split into %v", split)
	}
	var std delivery.StandardPayload
	if err := json.Unmarshal(body[1], &std); err != nil || std.Data.ID != c.Events[0].ID || reqs[1].URL.Path != "/cb" {
		t.Fatalf("standard delivery of the first event: %s (%v)", body[1], err)
	}
}
