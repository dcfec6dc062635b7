package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/synthfed/synthfed/model/device/opencl"
)

// peak is a device's FP32 peak and how it was derived.
type peak struct {
	GFLOPS float64
	How    string
}

// fp32Peak derives d's FP32 peak from its OpenCL device info: compute
// units × clock × 2 (a fused multiply-add is 2 operations) × FP32 lanes
// per compute unit. The lanes: 128 per NVIDIA streaming multiprocessor
// (Volta to Hopper); 64 per AMD compute unit; for a CPU device the SIMD
// width in floats, from cpuFlags (opencl.Device does not carry
// CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT). A CPU core with two FMA units
// peaks at twice this; the formula counts one.
func fp32Peak(d opencl.Device, cpuFlags string) peak {
	lanes, why := 0, ""
	vendor := strings.ToLower(d.Vendor + " " + d.Name + " " + d.Platform)
	switch {
	case d.Type == "gpu" && strings.Contains(vendor, "nvidia"):
		lanes, why = 128, "128 FP32 lanes per NVIDIA SM"
	case d.Type == "gpu" && (strings.Contains(vendor, "amd") || strings.Contains(vendor, "advanced micro")):
		lanes, why = 64, "64 FP32 lanes per AMD CU (assumed)"
	case d.Type == "cpu":
		lanes, why = cpuLanes(cpuFlags)
	default:
		return peak{How: fmt.Sprintf("unknown: no FP32 lane count for a %s device of %q", d.Type, d.Vendor)}
	}
	if d.ComputeUnits == 0 || d.ClockMHz == 0 {
		return peak{How: fmt.Sprintf("unknown: the device reports %d compute units at %d MHz", d.ComputeUnits, d.ClockMHz)}
	}
	g := float64(d.ComputeUnits) * float64(d.ClockMHz) * 1e6 * 2 * float64(lanes) / 1e9
	return peak{GFLOPS: g, How: fmt.Sprintf("%d compute units x %d MHz x 2 (FMA) x %d lanes (%s)", d.ComputeUnits, d.ClockMHz, lanes, why)}
}

// cpuLanes is the float SIMD width the CPU's flags (as /proc/cpuinfo lists
// them) promise.
func cpuLanes(flags string) (int, string) {
	has := map[string]bool{}
	for _, f := range strings.Fields(flags) {
		has[f] = true
	}
	switch {
	case has["avx512f"]:
		return 16, "AVX-512: 16 floats, from /proc/cpuinfo"
	case has["avx2"] || has["avx"]:
		return 8, "AVX/AVX2: 8 floats, from /proc/cpuinfo"
	case flags == "":
		return 4, "no CPU flags read: 4 floats (SSE) assumed"
	default:
		return 4, "SSE: 4 floats, from /proc/cpuinfo"
	}
}

// readCPUFlags returns the first "flags" line of /proc/cpuinfo ("" when
// there is none).
func readCPUFlags() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "flags" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
