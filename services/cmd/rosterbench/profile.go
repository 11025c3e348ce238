package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// profiler writes a CPU profile of a probe's measured phase when --profile
// names a directory. Everything runs in one process (NATS server, services,
// load generator), so the profile shows where the machine's time goes, not
// just the service's share.
type profiler struct {
	dir    string
	prefix string // put before every label (the cluster probe reuses other probes' labels)
}

// with returns a profiler writing into the same directory whose files'
// names start with prefix.
func (p *profiler) with(prefix string) *profiler {
	if p == nil {
		return nil
	}
	return &profiler{dir: p.dir, prefix: p.prefix + prefix}
}

func (p *profiler) start(label string) (stop func()) {
	if p == nil || p.dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		progress("profile: %v", err)
		return func() {}
	}
	path := filepath.Join(p.dir, p.prefix+label+".cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		progress("profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		progress("profile: %v", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		progress("profile: wrote %s", path)
	}
}
