//go:build !linux

package secaggtest

import "time"

// start anchors the fallback clock.
var start = time.Now()

// ProcessCPUTime falls back to wall time where the process CPU clock is not wired.
func ProcessCPUTime() time.Duration { return time.Since(start) }
