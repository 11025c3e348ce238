package jsqueue

import (
	"context"
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// Alerts publishes app.Alert on AlertPausedSubject (core NATS: operators
// subscribe; nothing is stored).
type Alerts struct{ NC *nats.Conn }

// EndpointPaused publishes a.
func (p Alerts) EndpointPaused(_ context.Context, a app.Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return p.NC.Publish(AlertPausedSubject, b)
}
