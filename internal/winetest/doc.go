// Package winetest lets the Windows test binaries run under Wine 8.0, and
// does nothing anywhere else: its code is built only with the build tag
// winetest, for windows, which .ci/run gives to `go test -exec wine` and
// nothing else does. No build a user gets carries that tag.
//
// Go 1.26 removes files on Windows (os.Remove, os.RemoveAll, os.Root.Remove,
// t.TempDir's cleanup) with FileDispositionInformationEx, which Windows 10
// 1607 and later support. Wine 8.0 answers with an error Go does not take
// for "unsupported", so every removal fails with "Invalid function". Go has
// a switch for its own tests that makes it take its older path,
// internal/syscall/windows.TestDeleteatFallback; importing this package
// turns it on through go:linkname, which the linker allows only with
// -ldflags=-checklinkname=0.
//
// Each package with tests imports it from a winetest_test.go file that
// carries the same build tag.
package winetest
