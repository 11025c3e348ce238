package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/services/internal/natsx"
)

type devOptions struct {
	listen     string
	dataDir    string
	syncAlways bool
	demo       bool
}

func newDevCmd(o *options) *cobra.Command {
	d := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run an embedded NATS server with JetStream and every Roster service in one process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd, o, d)
		},
	}
	cmd.Flags().StringVar(&d.listen, "listen", "127.0.0.1:4222", "address of the embedded NATS server")
	cmd.Flags().StringVar(&d.dataDir, "data", envOr("ROSTER_DATA_DIR", ".roster"), "directory for JetStream data")
	cmd.Flags().BoolVar(&d.syncAlways, "sync-always", false, "fsync every JetStream write before acknowledging it (see docs/adr/0003)")
	cmd.Flags().BoolVar(&d.demo, "demo", false, "play the seed scenario against a built-in misbehaving webhook receiver and print the audit trail")
	return cmd
}

func runDev(cmd *cobra.Command, o *options, d *devOptions) error {
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
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	o.natsURL = ns.ClientURL()
	// The dev stack's webhook receivers run on this machine: allow loopback
	// explicitly (production refuses it unless an operator allowlists it).
	o.webhookAllow = append(o.webhookAllow, "127.0.0.0/8", "::1/128")
	// Without a configured key the dev stack encrypts webhook secrets with
	// a key kept in its data directory.
	o.secretKeys.devKeyFile = filepath.Join(dir, "webhook-secret.key")
	e, err := connectEnv(cmd.Context(), o, "dev")
	if err != nil {
		return err
	}
	defer e.close()
	e.dev = true
	if d.demo {
		return runDemo(cmd.Context(), e)
	}
	fmt.Fprintf(cmd.OutOrStdout(), devBanner, o.natsURL, dir, o.natsURL, o.natsURL)
	return runServices(cmd.Context(), e, serviceNames())
}

const devBanner = `
Roster dev stack
  NATS (JetStream): %s    data: %s

Try it:
  roster --nats-url %s group create A --actor o --name "Group A"
  roster member invite A a --actor o
  nats --server %s req roster.cmd.member.invite '{"group_id":"A","actor":"o","user_ids":["b"]}'

`
