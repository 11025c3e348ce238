package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// component is one actor of a service: it runs until ctx is cancelled and
// returns nil then, or returns an error that stops its service (which the
// supervisor then starts again, or, when the error is permanent, stops the
// process).
type component struct {
	name string
	run  func(ctx context.Context) error
	// ready reports whether the component serves (micro endpoints
	// registered, consumers running); nil: whenever it runs.
	ready func() bool
}

// service is one rosterd subcommand's worth of components. Each service
// file has the constructor of its own (newGroupsService, ...); main.go
// lists them.
type service struct {
	name  string
	short string
	// records is true for services that write audit records: only a
	// process running one starts the ROSTER_AUDIT publisher (and needs
	// the permissions for it, deploy/accounts.conf).
	records bool
	// build provisions what the service needs and returns its
	// components; the supervisor calls it again after a failure.
	build func(ctx context.Context, e *env) ([]component, error)
	// flags binds the flags of "rosterd <service>" alone (nil: none).
	flags func(f *pflag.FlagSet, o *options)
}

// servicesNamed picks services by name from all, in the order given.
func servicesNamed(all []service, names ...string) ([]service, error) {
	var out []service
	for _, n := range names {
		found := false
		for _, s := range all {
			if s.name == n {
				out, found = append(out, s), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown service %q", n)
		}
	}
	return out, nil
}

func serviceNames(svcs []service) []string {
	var ns []string
	for _, s := range svcs {
		ns = append(ns, s.name)
	}
	return ns
}

// newServiceCmd is "rosterd <service>": one service per process.
func newServiceCmd(o *options, s service) *cobra.Command {
	cmd := &cobra.Command{
		Use:   s.name,
		Short: s.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newProcess(o, s.name, []service{s})
			if err != nil {
				return err
			}
			p.handleSignals()
			return p.run(cmd.Context())
		},
	}
	if s.flags != nil {
		s.flags(cmd.Flags(), o)
	}
	return cmd
}

// runComponents runs every component of a service until ctx ends or one
// fails; then it cancels the rest and waits for them. Unlike the process's
// run group it keeps every failure: the supervisor decides from all of
// them whether a restart can help.
func runComponents(ctx context.Context, log zerolog.Logger, comps []component) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Debug().Str("component", c.name).Msg("starting")
			err := c.run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Error().Err(err).Str("component", c.name).Msg("component failed")
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
				mu.Unlock()
			}
			cancel()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
