package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/services/internal/demo"
	"github.com/rosterhq/roster/services/internal/natsx"
)

type devOptions struct {
	listen     string
	dataDir    string
	syncAlways bool
	demo       bool
}

func newDevCmd(o *options, svcs []service) *cobra.Command {
	d := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run an embedded NATS server with JetStream and every Roster service in one process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd, o, d, svcs)
		},
	}
	cmd.Flags().StringVar(&d.listen, "listen", "127.0.0.1:4222", "address of the embedded NATS server")
	cmd.Flags().StringVar(&d.dataDir, "data", envOr("ROSTER_DATA_DIR", ".roster"), "directory for JetStream data")
	cmd.Flags().BoolVar(&d.syncAlways, "sync-always", false, "fsync every JetStream write before acknowledging it (see docs/adr/0003)")
	o.console.bindListen(cmd.Flags(), "console-listen")
	cmd.Flags().BoolVar(&d.demo, "demo", false, "play the seed scenario against a built-in misbehaving webhook receiver and print the audit trail")
	return cmd
}

// runDev runs the dev process: the embedded NATS server is one more actor
// of it (stopped after the services), and with --demo the scenario is too.
func runDev(cmd *cobra.Command, o *options, d *devOptions, svcs []service) error {
	if !cmd.Flags().Changed("log-format") && os.Getenv("ROSTER_LOG_FORMAT") == "" {
		o.logFormat = "console"
	}
	host, portS, err := net.SplitHostPort(d.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", d.listen, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return fmt.Errorf("--listen %q: bad port: %w", d.listen, err)
	}
	dir, err := filepath.Abs(d.dataDir)
	if err != nil {
		return err
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: host, Port: port, StoreDir: dir, SyncAlways: d.syncAlways})
	if err != nil {
		return err
	}
	// Also when the process does not get to run (shutting down twice is
	// harmless).
	defer shutdownEmbedded(ns)
	o.natsURL = ns.ClientURL()
	// The dev stack's webhook receivers run on this machine: allow loopback
	// explicitly (production refuses it unless an operator allowlists it).
	o.webhookAllow = append(o.webhookAllow, "127.0.0.0/8", "::1/128")
	// Without a configured key the dev stack encrypts webhook secrets with
	// a key kept in its data directory.
	o.secretKeys.devKeyFile = filepath.Join(dir, "webhook-secret.key")
	// The console's session key is kept there too; on loopback without a
	// users file the console needs no login (and says so on every page).
	o.console.devDir = dir
	var sc *demo.Scenario
	if d.demo {
		demoOptions(o)
		if sc, err = newDemo(cmd.Context(), o, cmd.OutOrStdout()); err != nil {
			return err
		}
	}
	p, err := newProcess(o, "dev", svcs)
	if err != nil {
		if sc != nil {
			sc.Close()
		}
		return err
	}
	p.dev = true
	p.handleSignals()
	p.add(embeddedActor(p, ns))
	if sc != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "Console: %s\n\n", consoleLine(&o.console))
		addDemo(cmd.Context(), p, sc)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), devBanner, o.natsURL, dir, consoleLine(&o.console), o.natsURL, o.natsURL)
	}
	return p.run(cmd.Context())
}

// consoleLine is the dev banner's console line.
func consoleLine(c *consoleOptions) string {
	switch {
	case c.listen == "":
		return "off (--console-listen is empty)"
	case c.noLogin():
		return "http://" + c.listen + "/ (no login: loopback dev stack)"
	default:
		return "http://" + c.listen + "/ (sign in with a user of " + c.usersFile + ")"
	}
}

// embeddedActor is the embedded NATS server as an actor of p: the server
// stopping by itself stops the process; otherwise it is shut down after the
// services, the last thing they talk to.
func embeddedActor(p *process, ns *server.Server) (execute func() error, interrupt func(error)) {
	return p.afterServices(func(stop <-chan struct{}) error {
		down := make(chan struct{})
		go func() { ns.WaitForShutdown(); close(down) }()
		select {
		case <-down:
			return errors.New("the embedded NATS server stopped")
		case <-stop:
			return nil
		}
	}, func() { shutdownEmbedded(ns) })
}

func shutdownEmbedded(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

const devBanner = `
Roster dev stack
  NATS (JetStream): %s    data: %s
  Console: %s

Try it:
  roster --nats-url %s group create A --actor o --name "Group A"
  roster member invite A a --actor o
  nats --server %s req roster.cmd.member.invite '{"group_id":"A","actor":"o","user_ids":["b"]}'

`
