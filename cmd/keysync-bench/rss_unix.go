//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSSKB is the peak resident set size of an ended process in KiB, as
// the kernel reports it to wait4 (and so to /usr/bin/time).
func peakRSSKB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" { // bytes there, KiB on Linux
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}
