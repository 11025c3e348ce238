package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// trail is the demo's rows of the four audit tables.
type trail struct {
	commands   []audit.Command
	events     []audit.Event
	deliveries []audit.DeliveryAttempt
	changes    []audit.EndpointChange
}

func readTrail(ctx context.Context, r audit.Reader, groupID, endpointID string) (trail, error) {
	var (
		t   trail
		err error
	)
	if t.commands, err = r.Commands(ctx, audit.Filter{GroupID: groupID}); err != nil {
		return t, err
	}
	if t.events, err = r.Events(ctx, audit.Filter{GroupID: groupID}); err != nil {
		return t, err
	}
	if t.deliveries, err = r.Deliveries(ctx, audit.Filter{EndpointID: endpointID}); err != nil {
		return t, err
	}
	t.changes, err = r.EndpointChanges(ctx, audit.Filter{EndpointID: endpointID})
	// Commands come newest first; the story reads oldest first.
	for i, j := 0, len(t.commands)-1; i < j; i, j = i+1, j-1 {
		t.commands[i], t.commands[j] = t.commands[j], t.commands[i]
	}
	return t, err
}

// complete says what is still missing: four accepted commands, four
// events, every invalid response the receiver gave, four deliveries, and
// the endpoint's creation, automatic pause and resume.
func (t trail) complete(badResponses int) error {
	var missing []string
	accepted := 0
	for _, c := range t.commands {
		if c.Outcome == "accepted" {
			accepted++
		}
	}
	if accepted != 4 {
		missing = append(missing, fmt.Sprintf("%d of 4 accepted commands", accepted))
	}
	if len(t.events) != 4 {
		missing = append(missing, fmt.Sprintf("%d of 4 events", len(t.events)))
	}
	invalid, delivered := t.counts()
	if invalid != badResponses {
		missing = append(missing, fmt.Sprintf("%d of %d invalid responses", invalid, badResponses))
	}
	if delivered != 4 {
		missing = append(missing, fmt.Sprintf("%d of 4 deliveries", delivered))
	}
	var changes []string
	for _, c := range t.changes {
		changes = append(changes, c.Change)
	}
	if strings.Join(changes, ",") != "created,paused,resumed" {
		missing = append(missing, fmt.Sprintf("endpoint changes %v, want created, paused, resumed", changes))
	}
	if len(missing) > 0 {
		return errors.New("have " + strings.Join(missing, "; "))
	}
	return nil
}

func (t trail) counts() (invalid, delivered int) {
	for _, a := range t.deliveries {
		switch {
		case a.Success:
			delivered++
		case a.FailureClass == string(delivery.ClassInvalidResponse):
			invalid++
		}
	}
	return invalid, delivered
}
