//go:build !windows

package main

import "os"

// enableVT does nothing: terminals here interpret escape sequences.
func enableVT(*os.File) (restore func(), ok bool) { return func() {}, true }
