//go:build windows && winetest

package segdltest

import _ "github.com/bulkdl/bulkdl/internal/winetest" // Go's file removal under Wine 8.0
