package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testImage is the image the container tests run: this tree's static
// build, loaded into Docker by deploy/container/build.sh under its own tag
// (synthfed/synthfed:latest, the user's, is left alone).
const testImage = "synthfed/synthfed:test"

var (
	imageOnce sync.Once
	imageErr  error
	imageLog  []byte
)

// dockerEngine says why no Docker Engine can run containers here ("" when
// one can).
func dockerEngine() string {
	if _, err := exec.LookPath("docker"); err != nil {
		return "no docker client"
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		return "no Docker Engine answering (docker info failed)"
	}
	return ""
}

// buildTestImage builds testImage once per test binary: a CGO_ENABLED=0
// build of this tree (it shares most of the build cache with the tests'
// own build) put in an image by build.sh. The soak and compose tests
// share it.
func buildTestImage(t *testing.T) {
	t.Helper()
	imageOnce.Do(func() {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			imageErr = err
			return
		}
		dir, err := os.MkdirTemp("", "synthfed-image-")
		if err != nil {
			imageErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "synthfed-static")
		gb := exec.Command("go", "build", "-o", bin, ".")
		gb.Env = append(os.Environ(), "CGO_ENABLED=0")
		if imageLog, imageErr = gb.CombinedOutput(); imageErr != nil {
			return
		}
		old, _ := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", testImage).Output()
		b := exec.Command("bash", filepath.Join(root, "deploy", "container", "build.sh"))
		b.Env = append(os.Environ(), "OUT="+filepath.Join(dir, "out"), "BIN="+bin, "IMAGE="+testImage)
		b.Dir = root
		if imageLog, imageErr = b.CombinedOutput(); imageErr != nil {
			return
		}
		// The previous test image, now untagged, would pile up run after run.
		if id := strings.TrimSpace(string(old)); id != "" {
			if now, _ := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", testImage).Output(); strings.TrimSpace(string(now)) != id {
				_ = exec.Command("docker", "image", "rm", id).Run()
			}
		}
	})
	if imageErr != nil {
		t.Fatalf("build %s: %v\n%s", testImage, imageErr, imageLog)
	}
}
