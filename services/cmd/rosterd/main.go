// Command rosterd runs Roster's servers: "rosterd dev" (embedded NATS and
// every service in one process), "rosterd all" (every service against an
// existing NATS), or one service per process ("rosterd groups", ...).
//
// Each process is one run group of actors started and stopped together
// (process.go, docs/adr/0076); main only builds the command tree.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	// Signals are an actor of each process's run group (process.go), not
	// a context here: a signal stops the process the way any actor does.
	if err := newRoot().ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "rosterd:", err)
		os.Exit(1)
	}
}

// services are every service of Roster in start order: "all" and "dev" run
// them in this order, and each is a subcommand of its own as well.
func services() []service {
	return []service{
		newAuditSinkService(),  // auditsink.go
		newDispatcherService(), // dispatcher.go
		newGroupsService(),     // groups.go
		newPolicyService(),     // policy.go
		newProjectorService(),  // projector.go
		newQueryService(),      // query.go
		newConsoleService(),    // console.go
	}
}

// newRoot builds the command tree: one constructor per subcommand, listed
// here in order.
func newRoot() *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:           "rosterd",
		Short:         "Roster servers: group commands, projector, queries, webhooks, audit",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	o.bind(root)
	svcs := services()
	root.AddCommand(
		newDevCmd(o, svcs), // dev.go
		newAllCmd(o, svcs), // all.go
		newKeysCmd(),       // keys.go
	)
	for _, s := range svcs {
		root.AddCommand(newServiceCmd(o, s)) // service.go
	}
	return root
}
