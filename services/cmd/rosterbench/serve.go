package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/rosterhq/roster/services/internal/groups"
)

// serve runs one component as a child process of the benchmark: it prints
// one line when ready (the NATS URL, or "ready") and runs until its stdin
// closes, which is how the parent stops it. A fresh process is what "cold"
// means, and a process of its own is what makes its RSS the component's.
func serve(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("serve: want a component: nats | groups")
	}
	ctx := context.Background()
	fs := flag.NewFlagSet("serve "+args[0], flag.ContinueOnError)
	natsURL := fs.String("nats", "", "NATS URL")
	syncAlways := fs.Bool("sync-always", false, "fsync before acknowledging (nats)")
	cache := fs.Int("cache", 0, "groups kept hot (groups; 0: the service default)")
	profile := fs.String("profile", "", "write a CPU profile of the process's life to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	switch args[0] {
	case "nats":
		env, err := startNATS(*syncAlways)
		if err != nil {
			return err
		}
		defer env.close()
		fmt.Println(env.url())
	case "groups":
		stop, err := runGroups(ctx, *natsURL, func(c *groups.Config) { c.CacheGroups = *cache })
		if err != nil {
			return err
		}
		defer func() { _ = stop() }()
		fmt.Println("ready")
	default:
		return fmt.Errorf("serve: unknown component %q", args[0])
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}
