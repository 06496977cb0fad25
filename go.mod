module github.com/bulkdl/bulkdl

go 1.26.8

require github.com/BurntSushi/toml v1.6.0

require golang.org/x/time v0.16.0 // indirect
