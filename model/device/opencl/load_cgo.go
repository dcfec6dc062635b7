//go:build cgo && (linux || freebsd || darwin)

package opencl

import (
	"fmt"
	"os"
	"strings"

	"github.com/ebitengine/purego"
)

// LibraryEnv names the environment variable that overrides the OpenCL
// library to load (a path, for a loader carried beside the binary).
const LibraryEnv = "SYNTHFED_OPENCL_LIB"

// load opens the ICD loader and resolves every function of the api table.
func load() (*api, error) {
	names := []string{"libOpenCL.so.1", "libOpenCL.so"}
	if p := os.Getenv(LibraryEnv); p != "" {
		names = []string{p}
	}
	var h uintptr
	var reasons []string
	for _, name := range names {
		var err error
		if h, err = purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			break
		}
		reasons = append(reasons, err.Error())
	}
	if h == 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(reasons, "; "))
	}
	a := &api{}
	for _, s := range a.symbols() {
		sym, err := purego.Dlsym(h, s.name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, s.name, err)
		}
		purego.RegisterFunc(s.fn, sym)
	}
	return a, nil
}
