package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/audit/record/recordertest"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestPublisherRecorderContract holds the ROSTER_AUDIT publisher to the
// Recorder contract: what it stored is what ROSTER_AUDIT holds, one
// message per copy.
func TestPublisherRecorderContract(t *testing.T) {
	recordertest.Run(t, func(t *testing.T) (record.Recorder, recordertest.Stored) {
		ns := natstest.Start(t)
		p, err := audit.NewPublisher(audit.PublisherConfig{JS: ns.JS, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Provision(context.Background(), ns.JS, audit.StreamConfig{}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = p.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return p, func(ctx context.Context) ([]string, error) {
			s, err := ns.JS.Stream(ctx, audit.StreamName)
			if err != nil {
				return nil, err
			}
			var ids []string
			for seq := uint64(1); ; seq++ {
				m, err := s.GetMsg(ctx, seq)
				if errors.Is(err, jetstream.ErrMsgNotFound) {
					return ids, nil
				}
				if err != nil {
					return nil, err
				}
				r, err := audit.DecodeRecord(audit.Kind(m.Subject[len(audit.SubjectPrefix):]), m.Data)
				if err != nil {
					return nil, err
				}
				ids = append(ids, r.AuditID())
			}
		}
	})
}
