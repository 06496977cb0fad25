//go:build !unix

package segdl

// oNonblock: there are no FIFOs to block on in a directory here.
const oNonblock = 0
