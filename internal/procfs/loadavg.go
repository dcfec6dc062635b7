// Package procfs reads the figures of Linux's /proc that the benchmarks
// and the soak record beside their measurements.
package procfs

import (
	"os"
	"strconv"
	"strings"
)

// LoadAverage returns the 1-minute load average from /proc/loadavg, or 0
// where it cannot be read (another OS, a malformed file).
func LoadAverage() float64 { return parseLoadAverage(readFile("/proc/loadavg")) }

func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}

// parseLoadAverage reads the first field of /proc/loadavg's text.
func parseLoadAverage(s string) float64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}
