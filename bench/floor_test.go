package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFloorLine(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, c := range []struct {
		line, url, name string
		ok              bool
	}{
		{sum + " http://127.0.0.1:1/x x", "http://127.0.0.1:1/x", "x", true},
		{"  " + sum + "\thttp://h/y\t y.bin ", "http://h/y", "y.bin", true},
		{sum + " http://h/x", "", "", false},               // no name
		{sum + " http://h/x a b", "", "", false},           // a fourth field
		{sum[:62] + " http://h/x x", "", "", false},        // a short sum
		{strings.Repeat("zz", 32) + " u x", "", "", false}, // not hex
		{sum + " u ../x", "", "", false},                   // out of the directory
		{sum + " u ..", "", "", false},
		{sum + " u .", "", "", false},
		{"", "", "", false},
	} {
		f, err := parseFloorLine(c.line)
		if (err == nil) != c.ok {
			t.Errorf("parseFloorLine(%q): err %v, want ok %v", c.line, err, c.ok)
			continue
		}
		if !c.ok {
			if !errors.Is(err, errFloorLine) {
				t.Errorf("parseFloorLine(%q): err %v, want errFloorLine", c.line, err)
			}
			continue
		}
		if f.url != c.url || f.name != c.name || f.sum[0] != 0xab || f.sum[31] != 0xab {
			t.Errorf("parseFloorLine(%q) = %+v", c.line, f)
		}
	}
}

func FuzzParseFloorLine(f *testing.F) {
	f.Add(strings.Repeat("ab", 32) + " http://h/x x")
	f.Add("x y z")
	f.Fuzz(func(t *testing.T, line string) {
		ff, err := parseFloorLine(line)
		if err != nil {
			return
		}
		if ff.name == "" || ff.name == "." || ff.name == ".." || strings.ContainsAny(ff.name, "/\x00") {
			t.Errorf("parseFloorLine(%q): name %q would leave the directory", line, ff.name)
		}
		if ff.url == "" || strings.ContainsAny(ff.url+ff.name, " \t\n") {
			t.Errorf("parseFloorLine(%q) = %+v: a field with a space", line, ff)
		}
	})
}
