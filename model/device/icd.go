package device

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/synthfed/synthfed/model/device/opencl"
)

// cpuOnlyICDs reports, without loading any OpenCL library, that the ICD
// loader would find no device "auto" could take: no vendor file at all, or
// only pocl's (the CPU as an OpenCL device). Enumerating platforms loads
// every vendor library, and pocl's pulls in LLVM: +63 MiB RSS and about
// half a second per agent process, measured, on machines (CI, simulations
// of 50 agent processes) where it cannot help. It returns a reason when it
// is sure, "" when the devices must be enumerated to know.
//
// It reads the vendor folder as ocl-icd does: $OCL_ICD_VENDORS (a folder,
// or one .icd file), else $OPENCL_VENDOR_PATH, else /etc/OpenCL/vendors. A
// loader named by $SYNTHFED_OPENCL_LIB may look elsewhere, so then it is
// never sure.
func cpuOnlyICDs() string {
	if os.Getenv(opencl.LibraryEnv) != "" {
		return ""
	}
	dir := "/etc/OpenCL/vendors"
	if v := os.Getenv("OPENCL_VENDOR_PATH"); v != "" {
		dir = v
	}
	var files []string
	if v := os.Getenv("OCL_ICD_VENDORS"); v != "" {
		if st, err := os.Stat(v); err == nil && !st.IsDir() {
			files = []string{v}
		} else {
			dir = v
		}
	}
	if files == nil {
		var err error
		if files, err = filepath.Glob(filepath.Join(dir, "*.icd")); err != nil {
			return ""
		}
	}
	if len(files) == 0 {
		return "no OpenCL vendor file in " + dir
	}
	for _, f := range files {
		lib, err := os.ReadFile(f)
		if err != nil || !strings.Contains(strings.ToLower(string(lib)), "pocl") {
			return ""
		}
	}
	return "only pocl's OpenCL vendor file (the CPU as a device: the CPU path is faster on it) in " + filepath.Dir(files[0])
}
