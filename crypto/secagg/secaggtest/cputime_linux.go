//go:build linux

package secaggtest

import (
	"syscall"
	"time"
	"unsafe"
)

// clockProcessCPUTimeID is CLOCK_PROCESS_CPUTIME_ID.
const clockProcessCPUTimeID = 2

// ProcessCPUTime returns the CPU time the process has used (all threads), in
// nanoseconds of precision: unlike wall time it does not grow while other
// programs hold the machine's cores.
func ProcessCPUTime() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
