//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// ownGroup makes cmd the leader of a new process group, so that killGroup
// also reaches what it starts (GNU time's child, a tool's helpers).
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup sends SIGKILL to cmd's process group.
func killGroup(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// settle writes back every file system's dirty data, before a run starts
// its clock: a tool that makes its files durable (bulkdl's syncfs) would
// otherwise also pay for the writeback of the files the previous tool left
// in the page cache.
func settle() { syscall.Sync() }
