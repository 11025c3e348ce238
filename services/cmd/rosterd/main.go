// Command rosterd runs Roster's servers: "rosterd dev" (embedded NATS and
// every service in one process), "rosterd all" (every service against an
// existing NATS), or one service per process ("rosterd groups", ...).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "rosterd:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:           "rosterd",
		Short:         "Roster servers: group commands, projector, queries, webhooks, audit",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	o.bind(root)
	root.AddCommand(newDevCmd(o), newAllCmd(o), newKeysCmd())
	for _, s := range services {
		root.AddCommand(newServiceCmd(o, s))
	}
	return root
}
