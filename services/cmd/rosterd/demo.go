package main

import (
	"context"
	"io"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/demo"
	"github.com/rosterhq/roster/services/internal/natsx"
)

// demoOptions prepares the dev stack for "rosterd dev --demo": the
// dispatcher pauses after the demo's few failures, and the services' info
// logs, which would drown the story on the terminal, are quieted (warnings
// and errors still show).
func demoOptions(o *options) {
	o.webhookHealth = demo.HealthPolicy
	if lvl, err := zerolog.ParseLevel(o.logLevel); err == nil && lvl == zerolog.InfoLevel {
		o.logLevel = zerolog.WarnLevel.String()
	}
}

// newDemo prepares the scenario: it checks ClickHouse, before the process
// starts anything, and starts the receiver.
func newDemo(ctx context.Context, o *options, out io.Writer) (*demo.Scenario, error) {
	return demo.New(ctx, demo.Config{ClickHouseDSN: o.clickhouseDSN, Out: out})
}

// addDemo makes the scenario an actor of the dev process: it plays on its
// own connection while the services run, and the process ends when it
// does (with its error). The actor closes sc.
func addDemo(ctx context.Context, p *process, sc *demo.Scenario) {
	ctx, cancel := context.WithCancelCause(ctx)
	p.add(func() error {
		defer sc.Close()
		nc, err := natsx.Connect(p.opts.clientConfig("rosterd-demo"))
		if err != nil {
			return err
		}
		defer nc.Close()
		return sc.Play(ctx, nc)
	}, func(err error) {
		// The first actor's error (the services failing, a signal) is
		// what the demo reports as the reason it stopped.
		cancel(err)
	})
}
