package membership

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/events/group"
)

// The bulk phase with tiny windows and a cache far smaller than the model
// (groups are written, dropped and read back from the new generation),
// plus commits appended while the rebuild runs (folded by the guarded tail
// from the bulk phase's states), still yields exactly the fold of the
// stream, and the live projector carries on in the new generation.
func TestRebuildBulkEvictsAndCatchesUpTail(t *testing.T) {
	f := newFixture(t)
	live, _ := f.projector(Config{})
	total := f.generate(3000, 6, 7)
	f.waitApplied(live, 60*time.Second)

	var once sync.Once
	tail := 0
	res, err := Rebuild(context.Background(), RebuildConfig{
		JS: f.js, Log: testLog(t), MaxCachedMembers: 150,
		bulk: &bulkOptions{window: 3, ackEvery: 4, maxUnproven: 16},
		Progress: func(p RebuildProgress) {
			if p.Commits == 0 {
				return
			}
			// The target is fixed by now: these land in the tail.
			once.Do(func() {
				for i := range 5 {
					f.do(fmt.Sprintf("g%03d", 2+i%3), "owner", group.Invite{UserIDs: []string{fmt.Sprintf("late%d", i)}})
					tail++
				}
				f.do("g003", "owner", group.Remove{UserIDs: []string{"late1"}})
				tail++
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tail == 0 || res.To.Number != 2 {
		t.Fatalf("result %+v, tail %d", res, tail)
	}
	// Every commit was applied before the switch: bulk plus tail.
	if want := uint64(total + tail); res.Events != want {
		t.Fatalf("rebuild applied %d events, want %d", res.Events, want)
	}
	if err := diff(f.expected(), dump(t, f.js, 2)); err != nil {
		t.Fatalf("rebuilt model differs from the fold of the stream: %v", err)
	}
	v := f.do("g004", "owner", group.Invite{UserIDs: []string{"after"}})
	f.caughtUp(2, 20*time.Second)
	if v == 0 {
		t.Fatal("no version")
	}
}
