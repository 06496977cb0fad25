module github.com/bulkdl/bulkdl

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/mattn/go-isatty v0.0.24
	golang.org/x/term v0.47.0
)

require (
	golang.org/x/sys v0.49.0
	golang.org/x/time v0.16.0
)
