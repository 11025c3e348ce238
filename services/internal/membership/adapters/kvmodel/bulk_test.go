package kvmodel

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// A write of the bulk phase stored anywhere but where the writer counted
// (the server dropped one, or something else writes the generation) fails
// the phase instead of letting an incomplete model be switched to.
func TestBulkWriterDetectsGaps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		foreign bool // someone else writes the bucket first
		wantErr error
	}{
		{name: "sole writer", wantErr: nil},
		{name: "foreign write", foreign: true, wantErr: ErrBulkGap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := natstest.Start(t)
			_, js := srv.ConnectJS(t)
			ctx := context.Background()
			m, err := Create(ctx, js, 9, Options{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := m.BulkWriter(ctx, BulkOptions{AckEvery: 3, MaxUnproven: 6})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Close)
			if tc.foreign {
				if _, err := m.kv.Put(ctx, "g.other", []byte("{}")); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 10 {
				if _, err = w.send(ctx, &nats.Msg{Subject: m.pre + fmt.Sprintf("g.k%d", i), Data: []byte("{}")}, i == 9); err != nil {
					break
				}
			}
			if err == nil {
				err = w.Drain(ctx)
			}
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}
