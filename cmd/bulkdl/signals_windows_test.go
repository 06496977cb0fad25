package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/bulkdl/bulkdl/internal/winetest"
)

// stopSignals are the ways to stop a run from outside that a test can use
// on Windows: Ctrl-Break, sent to the run's own process group. Ctrl-C
// reaches Go's handler by the same path (the runtime turns both into
// os.Interrupt) but cannot be sent to one process group alone. SIGTERM
// has no sender on Windows: Go raises it when the console window closes or
// the user logs off, which a test cannot do.
var stopSignals = []stopSignal{
	{"ctrl-break", 130,
		func(cmd *exec.Cmd) {
			cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
		},
		func(t *testing.T, p *os.Process) error {
			err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
			if err != nil && winetest.Enabled {
				p.Kill()
				p.Wait()
				t.Skipf("Wine 8.0 refuses GenerateConsoleCtrlEvent (%v) in the console it emulates without a terminal; a Windows runner sends Ctrl-Break", err)
			}
			return err
		},
	},
}
