//go:build !cgo || !(linux || freebsd || darwin)

package opencl

import "fmt"

// LibraryEnv names the environment variable that overrides the OpenCL
// library to load (unused without cgo).
const LibraryEnv = "SYNTHFED_OPENCL_LIB"

// load reports that this build has no OpenCL loader: without cgo, purego's
// dlopen would make the static build dynamically linked.
func load() (*api, error) {
	return nil, fmt.Errorf("%w: built without cgo", ErrUnavailable)
}
