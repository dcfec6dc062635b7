package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCPUOnlyICDs checks that "auto" decides without loading OpenCL when
// the vendor folder holds nothing or only pocl, and enumerates otherwise.
func TestCPUOnlyICDs(t *testing.T) {
	write := func(dir string, files map[string]string) {
		for name, lib := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(lib+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("SYNTHFED_OPENCL_LIB", "")
	t.Setenv("OPENCL_VENDOR_PATH", "")
	for _, tc := range []struct {
		name  string
		files map[string]string
		sure  string // substring of the reason, "" for "enumerate"
	}{
		{"empty", nil, "no OpenCL vendor file"},
		{"pocl only", map[string]string{"pocl.icd": "libpocl.so.2.11.0"}, "only pocl"},
		{"nvidia", map[string]string{"nvidia.icd": "libnvidia-opencl.so.1"}, ""},
		{"pocl and nvidia", map[string]string{"pocl.icd": "libpocl.so.2", "nvidia.icd": "libnvidia-opencl.so.1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(dir, tc.files)
			t.Setenv("OCL_ICD_VENDORS", dir)
			got := cpuOnlyICDs()
			if (tc.sure == "") != (got == "") || !strings.Contains(got, tc.sure) {
				t.Fatalf("cpuOnlyICDs() = %q, want %q", got, tc.sure)
			}
			if tc.sure == "" {
				return
			}
			b, err := Select(DefaultConfig(), nil)
			if err != nil || b.OnDevice() || !strings.Contains(b.Reason(), tc.sure) {
				t.Fatalf("auto: %v (%s), %v", b, b.Reason(), err)
			}
		})
	}
	dir := t.TempDir()
	write(dir, map[string]string{"nvidia.icd": "libnvidia-opencl.so.1"})
	t.Setenv("OCL_ICD_VENDORS", filepath.Join(dir, "nvidia.icd")) // one file
	if got := cpuOnlyICDs(); got != "" {
		t.Fatalf("a single nvidia.icd file: %q", got)
	}
	t.Setenv("OCL_ICD_VENDORS", dir)
	t.Setenv("SYNTHFED_OPENCL_LIB", "/opt/x/libOpenCL.so.1")
	if got := cpuOnlyICDs(); got != "" {
		t.Fatalf("with a carried loader: %q", got)
	}
}
