//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// stopSignals are the ways to stop a run from outside that a test can use
// here, with the exit code each must give.
var stopSignals = []stopSignal{
	{"interrupt", 130, func(*exec.Cmd) {}, func(_ *testing.T, p *os.Process) error { return p.Signal(syscall.SIGINT) }},
	{"terminated", 143, func(*exec.Cmd) {}, func(_ *testing.T, p *os.Process) error { return p.Signal(syscall.SIGTERM) }},
}
