//go:build !linux

package main

import "errors"

// floorOK: the floor runs on Linux only (see floor_linux.go); elsewhere
// the many-file scenarios go without it.
const floorOK = false

func runFloor([]floorFile, string, int, func(string, ...any)) (int, error) {
	return 0, errors.New("the floor runs on Linux only")
}
