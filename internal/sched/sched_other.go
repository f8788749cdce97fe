//go:build !linux

package sched

func batch() (int, error) { return 0, nil }
