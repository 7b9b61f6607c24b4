//go:build !unix

package main

import "time"

// processCPU is not available here; the benchmark then reports no CPU time.
func processCPU() (time.Duration, bool) { return 0, false }
