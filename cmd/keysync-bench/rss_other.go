//go:build !unix

package main

import "os"

// peakRSSKB is 0 where the kernel does not report a peak RSS.
func peakRSSKB(*os.ProcessState) int64 { return 0 }
