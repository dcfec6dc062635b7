package opencl

import (
	"errors"
	"strings"
	"testing"
)

func TestCodeNamesAndWrapping(t *testing.T) {
	err := check("clBuildProgram", -11)
	if !errors.Is(err, ErrBuildProgramFailure) {
		t.Fatalf("%v does not match ErrBuildProgramFailure", err)
	}
	if errors.Is(err, ErrInvalidValue) {
		t.Fatalf("%v matches ErrInvalidValue", err)
	}
	if got := err.Error(); got != "opencl: clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11)" {
		t.Fatalf("text %q", got)
	}
	if got := Code(-9999).Error(); !strings.Contains(got, "-9999") {
		t.Fatalf("unnamed code text %q", got)
	}
	if check("x", 0) != nil {
		t.Fatal("CL_SUCCESS is an error")
	}
	for c, name := range codeNames {
		if !strings.HasPrefix(name, "CL_") || c >= 0 {
			t.Errorf("code %d named %q", int32(c), name)
		}
	}
}
