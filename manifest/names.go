package manifest

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// platform says which rules about file names are errors where a manifest
// is loaded; elsewhere they are warnings, because a manifest written on
// one system is often run on another.
type platform struct {
	windowsNames bool // a name Windows cannot hold is an error
	foldCase     bool // two paths equal but for case are one file
}

// maxComponent is the longest name NTFS, APFS and ext4 hold: 255 UTF-16
// code units on Windows and macOS, 255 bytes on Linux.
const maxComponent = 255

// windowsName returns why Windows cannot hold a file at the slash-separated
// path p, or "" if it can. The names are checked as Windows 10 checks
// them: device names are reserved with any extension there.
func windowsName(p string) string {
	for rest := p; rest != ""; {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		if i := strings.IndexAny(c, `<>:"|?*\`); i >= 0 {
			return fmt.Sprintf("%q contains %q", c, c[i])
		}
		if strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
			return fmt.Sprintf("%q ends with a dot or a space, which Windows drops", c)
		}
		if reservedOnWindows(c) {
			return fmt.Sprintf("%q is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension)", c)
		}
		n := 0
		for _, r := range c {
			n += utf16.RuneLen(r)
		}
		if n > maxComponent {
			return fmt.Sprintf("a name of %d characters is longer than the %d Windows allows", n, maxComponent)
		}
	}
	return ""
}

// reservedOnWindows reports whether name, or the part of it before the
// first dot less trailing spaces, is a DOS device name.
func reservedOnWindows(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) > 3 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		d, size := utf8.DecodeRuneInString(base[3:])
		return size == len(base)-3 && (d >= '1' && d <= '9' || d == '¹' || d == '²' || d == '³')
	}
	return false
}

// maxNameWarnings bounds the warnings checkNames prints: a manifest of
// timestamped names (with colons) is valid here and should not print one
// line per file.
const maxNameWarnings = 5

// fold maps a path to what a case-insensitive filesystem compares: NTFS
// upper-cases each character by itself, as strings.ToUpper does. (APFS
// also ignores Unicode normalization, which is not checked here.)
func fold(p string) string { return strings.ToUpper(p) }

// checkNames reports, for every file, a name Windows cannot hold (an error
// where v.plat.windowsNames, else a warning), and paths that differ only
// in case: one file on Windows and macOS (an error where v.plat.foldCase).
// Paths that are equal, not only in case, are crossFiles' to report.
func (v *validator) checkNames() {
	files := v.m.Files
	warned := 0
	report := func(i int, isErr bool, msg string) {
		switch {
		case isErr:
			v.errs = append(v.errs, v.fileErr(i, msg))
		case warned < maxNameWarnings:
			v.warns = append(v.warns, v.fileErr(i, msg))
		}
		if !isErr {
			warned++
		}
	}
	defer func() {
		if warned > maxNameWarnings {
			v.warns = append(v.warns, &Error{File: v.name, Msg: fmt.Sprintf("%d more paths that Windows or macOS would refuse or merge (only the first %d are listed)", warned-maxNameWarnings, maxNameWarnings)})
		}
	}()
	for i := range files {
		if why := windowsName(files[i].Path); why != "" {
			msg := fmt.Sprintf("path %q: %s; choose another path", files[i].Path, why)
			if !v.plat.windowsNames {
				msg = fmt.Sprintf("path %q: %s, so this manifest fails on Windows", files[i].Path, why)
			}
			report(i, v.plat.windowsNames, msg)
		}
	}
	suffix := " on Windows and macOS"
	if v.plat.foldCase {
		suffix = "; give one of them another path"
	}
	folded := make(map[string]int, len(files))
	for i := range files {
		p := files[i].Path
		if p == "" {
			continue
		}
		f := fold(p)
		if j, ok := folded[f]; !ok {
			folded[f] = i
		} else if files[j].Path != p {
			report(i, v.plat.foldCase, fmt.Sprintf("path %q and %q (the file at line %d) differ only in case: they are one file%s", p, files[j].Path, files[j].Line, suffix))
		}
	}
	for i := range files {
		for dir := path.Dir(files[i].Path); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if j, ok := folded[fold(dir)]; ok && files[j].Path != dir {
				report(i, v.plat.foldCase, fmt.Sprintf("path %q needs %q to be a directory, but the file at line %d is written at %q, which differs only in case%s", files[i].Path, dir, files[j].Line, files[j].Path, suffix))
				break
			}
		}
	}
}
