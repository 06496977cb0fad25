//go:build !windows || !winetest

package winetest

// Enabled reports whether this is a test binary built for Wine, where a
// test may skip what Wine does not emulate (and must say what).
const Enabled = false
