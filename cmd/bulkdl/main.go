// Command bulkdl downloads every file a TOML manifest lists under one shared
// connection budget. Run "bulkdl help" for usage.
package main

import (
	"os"
)

func main() {
	c := newCLI(os.Stdout, os.Stderr)
	c.tuneGC = tuneGC
	os.Exit(c.main(os.Args[1:]))
}
