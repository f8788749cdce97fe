//go:build !linux

package main

import (
	"os"
	"runtime"
)

// On systems without /proc the bench reports no RSS figures and no CPU.

func peakRSS(int) int64             { return 0 }
func openHWM(int) *hwmFile          { return nil }
func resetPeakRSS()                 {}
func selfCPU() float64              { return 0 }
func childOf(int) int               { return 0 }
func runtimeProcs() int             { return runtime.GOMAXPROCS(0) }
func comm(int) string               { return "" }
func maxRSS(*os.ProcessState) int64 { return 0 }

type hwmFile struct{}

func (*hwmFile) read() int64 { return 0 }
func (*hwmFile) close()      {}
