package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableVT makes a Windows console interpret the escape sequences the
// live display draws with (ENABLE_VIRTUAL_TERMINAL_PROCESSING, Windows 10
// 1511 and later). ok is false when f is a console that cannot, such as
// the legacy console: draw plain lines there. A file or a pipe is not a
// console and needs nothing. restore puts the console's mode back.
func enableVT(f *os.File) (restore func(), ok bool) {
	h := windows.Handle(f.Fd())
	var mode uint32
	if windows.GetConsoleMode(h, &mode) != nil {
		return func() {}, true // not a console
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return func() {}, true
	}
	if windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) != nil {
		return func() {}, false
	}
	return func() { windows.SetConsoleMode(h, mode) }, true
}
