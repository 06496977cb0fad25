//go:build windows && winetest

package main

import _ "github.com/bulkdl/bulkdl/internal/winetest" // Go's file removal under Wine 8.0
