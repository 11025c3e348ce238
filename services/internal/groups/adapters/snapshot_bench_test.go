package adapters

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/groups/app"
)

// BenchmarkSnapshot100k: decoding the snapshot of a 100,000-member group
// built as the command side builds it (invites of 1,000), the largest part
// of a cold command on a large group (docs/performance.md).
func BenchmarkSnapshot100k(b *testing.B) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := app.NewAggregate("G")
	do := func(actor string, cmd group.Command) {
		ch, err := group.Decide(a.State, actor, cmd, at)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range ch {
			data, _ := json.Marshal(c.Data)
			e := events.Event{ID: "x", Type: c.Type, SchemaVersion: events.SchemaVersions[c.Type], GroupID: "G", Version: a.State.Version + 1, OccurredAt: at, Actor: actor, Data: data}
			if _, err := a.State.ApplyDecoded(e, c.Data); err != nil {
				b.Fatal(err)
			}
		}
	}
	do("owner", group.Create{Name: "G"})
	for i := 0; i < 100; i++ {
		ids := make([]string, 1000)
		for j := range ids {
			ids[j] = fmt.Sprintf("user_%03d_%04d", i, j)
		}
		do("owner", group.Invite{UserIDs: ids})
	}
	data, err := encodeSnapshot(a)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := decodeSnapshot("G", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "snapshot-bytes")
}
