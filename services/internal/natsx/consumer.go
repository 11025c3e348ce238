package natsx

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReleaseConsumer deletes a finished read's ordered consumer at once. The
// server would otherwise keep it for its inactivity threshold (nats.go's
// default is 5 minutes), so a steady load of range reads would pile
// consumers up on ROSTER_EVENTS to the server's limit; deleted, they are
// bounded by the reads in flight (docs/adr/0006). Best effort: a consumer
// left behind by a dead process expires after its threshold.
func ReleaseConsumer(s jetstream.Stream, c jetstream.Consumer) {
	info := c.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.DeleteConsumer(ctx, info.Name)
}
