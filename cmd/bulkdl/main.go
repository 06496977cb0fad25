// Command bulkdl downloads every file a TOML manifest lists under one shared
// connection budget. Run "bulkdl help" for usage.
package main

import (
	"os"
)

func main() {
	os.Exit(newCLI(os.Stdout, os.Stderr).main(os.Args[1:]))
}
