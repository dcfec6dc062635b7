package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestStaticDeps checks, without compiling, that the binary builds with
// CGO_ENABLED=0 (as the container image needs): every dependency resolves
// to pure-Go files and nothing pulls in runtime/cgo.
func TestStaticDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{.ImportPath}}\t{{if .Error}}{{.Error}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, perr, _ := strings.Cut(line, "\t")
		if perr != "" {
			t.Errorf("%s does not build without cgo: %s", pkg, perr)
		}
		if pkg == "runtime/cgo" {
			t.Error("runtime/cgo is linked in with CGO_ENABLED=0")
		}
	}
}

// TestStaticBuild runs the container recipe's static build and its checks
// (statically linked, runs). It compiles everything without cgo, which
// takes minutes on a cold cache, so it runs only with
// SYNTHFED_STATIC_BUILD=1 (make static does the same).
func TestStaticBuild(t *testing.T) {
	if os.Getenv("SYNTHFED_STATIC_BUILD") != "1" {
		t.Skip("set SYNTHFED_STATIC_BUILD=1 (or run bash deploy/container/build.sh --check)")
	}
	cmd := exec.Command("bash", "../../deploy/container/build.sh", "--check")
	cmd.Env = append(os.Environ(), "OUT="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
}
