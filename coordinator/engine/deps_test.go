package engine

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureDependencies: the engine links no wire (gRPC, protobuf), no
// logging and no networking: go list -deps shows none of them.
func TestPureDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		for _, banned := range []string{"google.golang.org/grpc", "google.golang.org/protobuf", "log/slog", "net/http",
			"github.com/synthfed/synthfed/protocol/fedpb", "github.com/hashicorp/memberlist", "go.etcd.io/bbolt"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the engine depends on %s", d)
			}
		}
		if d == "net" {
			t.Errorf("the engine depends on package net")
		}
	}
}
