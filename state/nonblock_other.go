//go:build !unix

package state

// oNonblock: there are no FIFOs to block on in a directory here.
const oNonblock = 0
