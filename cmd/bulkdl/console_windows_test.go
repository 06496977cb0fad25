package main

import (
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

// TestEnableVT turns on escape sequences in this process's console and
// puts its mode back; a file, not being a console, needs nothing.
func TestEnableVT(t *testing.T) {
	f, err := os.Create(t.TempDir() + `\log`)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if restore, ok := enableVT(f); !ok {
		t.Error("enableVT(a file) = false; want true: bytes go through")
	} else {
		restore()
	}

	con, err := os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no console to test with: %v", err)
	}
	defer con.Close()
	h := windows.Handle(con.Fd())
	var before, during, after uint32
	if err := windows.GetConsoleMode(h, &before); err != nil {
		t.Skipf("CONOUT$ is not a console: %v", err)
	}
	windows.SetConsoleMode(h, before&^windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING)
	defer windows.SetConsoleMode(h, before)
	restore, ok := enableVT(con)
	if !ok {
		t.Skip("this console cannot process escape sequences (legacy console): the display draws plain lines")
	}
	windows.GetConsoleMode(h, &during)
	restore()
	windows.GetConsoleMode(h, &after)
	if during&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING == 0 {
		t.Errorf("console mode %#x after enableVT; want ENABLE_VIRTUAL_TERMINAL_PROCESSING set", during)
	}
	if after&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		t.Errorf("console mode %#x after restore; want it cleared again", after)
	}
}
