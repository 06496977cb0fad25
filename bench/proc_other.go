//go:build !unix

package main

import "os/exec"

// ownGroup does nothing: without process groups, killGroup kills cmd only.
func ownGroup(cmd *exec.Cmd) {}

// killGroup kills cmd (TerminateProcess on Windows). A child cmd started
// itself lives on; the benchmark's peers do not start any.
func killGroup(cmd *exec.Cmd) { cmd.Process.Kill() }

// settle does nothing here (see proc_unix.go).
func settle() {}
