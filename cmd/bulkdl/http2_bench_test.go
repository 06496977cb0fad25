package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// BenchmarkHTTP2UnderPerConnectionCap is the measurement behind http2's
// default (false): an origin whose every TCP connection is capped at
// 8 MB/s, as many servers and CDNs do, serves one 16 MiB file to 8
// connections. Segmented HTTP/1.1 uses 8 connections; HTTP/2 multiplexes
// every range over one (golang/go#37373), so it gets one connection's cap.
func BenchmarkHTTP2UnderPerConnectionCap(b *testing.B) {
	srv := segdltest.NewUnstartedServer()
	srv.EnableHTTP2 = true
	srv.LimitConnections(8e6)
	srv.StartTLS()
	defer srv.Close()
	data := segdltest.Content(1, 16<<20)
	srv.PutBytes("/f", data)
	for _, h2 := range []bool{false, true} {
		b.Run(fmt.Sprintf("http2=%v", h2), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				dir := b.TempDir()
				p := filepath.Join(dir, "ca.pem")
				writeCAFile(p, srv)
				m := filepath.Join(dir, "m.toml")
				os.WriteFile(m, []byte(fmt.Sprintf("[settings]\ndest = \"out\"\nca_file = \"ca.pem\"\nconnections = 8\nmin_segment = \"1MiB\"\n[hosts.%q]\nhttp2 = %v\n[[file]]\nurl = %q\n", hostOf(srv), h2, srv.URLOf("/f"))), 0o644)
				if code, _, stderr := bulkdl("run", "-q", m); code != 0 {
					b.Fatalf("run = %d: %s", code, stderr)
				}
			}
		})
	}
}
