//go:build winetest

package winetest

import _ "unsafe" // for go:linkname

// Enabled reports whether this is a test binary built for Wine, where a
// test may skip what Wine does not emulate (and must say what).
const Enabled = true

//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

func init() { deleteatFallback = true }
