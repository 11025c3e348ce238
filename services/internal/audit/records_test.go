package audit

import (
	"fmt"
	"time"
)

// Record factories for tests: realistic, valid records with unique ids.

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func SampleCommand(i int, group string) Command {
	return Command{
		ID: fmt.Sprintf("cmd-%s-%d", group, i), CommandID: fmt.Sprintf("c%d", i), Subject: "roster.cmd.member.invite",
		GroupID: group, Actor: "owner", Outcome: "accepted", Version: uint64(i + 1), LatencyUS: 850,
		ReceivedAt: t0.Add(time.Duration(i) * time.Millisecond), PayloadHash: "ab12", PayloadSize: 64,
	}
}

func SampleAttempt(i int, endpoint string) DeliveryAttempt {
	next := t0.Add(time.Minute)
	return DeliveryAttempt{
		ID: fmt.Sprintf("att-%s-%d", endpoint, i), EventID: fmt.Sprintf("ev-%d", i), EventType: "member.invited",
		GroupID: "A", EndpointID: endpoint, URL: "https://hooks.example.com/roster", Format: "openim", Attempt: 1,
		Trigger:        "scheduled",
		RequestHeaders: map[string]string{"Content-Type": "application/json", "webhook-id": fmt.Sprintf("ev-%d", i), "webhook-signature": "v1,secret"},
		RequestSize:    120, RequestHash: "cd34", ResponseStatus: 200,
		ResponseHeaders: map[string]string{"Content-Type": "text/plain"},
		ResponseBody:    `{"actionCode":0}Callback ok`, Success: false, FailureClass: "invalid_response",
		FailureMsg: "invalid character 'C' after top-level value", LatencyUS: 1200,
		StartedAt: t0.Add(time.Duration(i) * time.Millisecond), NextAttemptAt: &next, State: "retrying",
	}
}

func SampleChange(i int, endpoint string) EndpointChange {
	return EndpointChange{
		ID: fmt.Sprintf("chg-%s-%d", endpoint, i), EndpointID: endpoint, Change: "updated", Actor: "admin",
		GroupID: "A", Endpoint: `{"id":"` + endpoint + `","url":"https://hooks.example.com/roster"}`,
		At: t0.Add(time.Duration(i) * time.Second),
	}
}
