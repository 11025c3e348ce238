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

// addDemo makes the demo scenario an actor of the dev process: it plays
// on its own connection while the services run, and the process ends when
// it does (with its error). ClickHouse is checked here, before the process
// starts anything.
func addDemo(ctx context.Context, p *process, out io.Writer) error {
	sc, err := demo.New(ctx, demo.Config{ClickHouseDSN: p.opts.clickhouseDSN, Out: out})
	if err != nil {
		return err
	}
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
	return nil
}
