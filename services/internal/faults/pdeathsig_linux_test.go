//go:build slow

package faults

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill a child when the test process dies
// (a test timeout panics without running cleanups), so no rosterd outlives
// its run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
