package main

import "testing"

func TestMountOf(t *testing.T) {
	const info = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
25 22 0:21 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw
30 22 7:0 / /mnt/j rw,relatime shared:9 - ext4 /dev/loop0 rw
31 22 7:1 / /mnt/j rw,relatime shared:10 - xfs /dev/loop1 rw,attr2
32 22 0:40 / /mnt/my\040disk rw - btrfs /dev/vdb rw,ssd
garbage line
`
	for _, c := range []struct{ path, want string }{
		{"/tmp", " (ext4 on /dev/vda, rw,discard)"},
		{"/", " (ext4 on /dev/vda, rw,discard)"},
		{"/dev/shm/x", " (tmpfs on tmpfs, rw)"},
		{"/dev/shmx", " (ext4 on /dev/vda, rw,discard)"},   // not under /dev/shm
		{"/mnt/j/bench", " (xfs on /dev/loop1, rw,attr2)"}, // the later mount hides the earlier
		{"/mnt/my disk/b", " (btrfs on /dev/vdb, rw,ssd)"},
	} {
		if got := mountOf(info, c.path); got != c.want {
			t.Errorf("mountOf(%q) = %q, want %q", c.path, got, c.want)
		}
	}
	if got := mountOf("", "/tmp"); got != "" {
		t.Errorf("no mounts: %q, want none", got)
	}
}

func TestWantedAlwaysRunsBulkdl(t *testing.T) {
	defer func(v string) { *tools = v }(*tools)
	*tools = "curl"
	for name, want := range map[string]bool{"bulkdl -c 16": true, "curl --parallel-max 16": true, "wget2 --max-threads 16": false, "aria2c -j16": false} {
		if got := wanted(name); got != want {
			t.Errorf("-tools curl: wanted(%q) = %v, want %v", name, got, want)
		}
	}
	*tools = ""
	if !wanted("axel -n 8") {
		t.Error("no -tools: axel not run")
	}
}
