package opencl

import (
	"errors"
	"strings"
	"testing"
)

func TestDevicesDescribed(t *testing.T) {
	devs, err := Devices()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no OpenCL library: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Skip("OpenCL loader present but no platform or device")
	}
	for i, d := range devs {
		if d.Index != i || d.Name == "" || d.Platform == "" || d.ComputeUnits == 0 || d.GlobalMemBytes == 0 || d.MaxWorkGroupSize == 0 {
			t.Errorf("device %d badly described: %+v", i, d)
		}
		if !strings.HasPrefix(d.String(), "opencl:") {
			t.Errorf("device %d string %q", i, d)
		}
		t.Log(d)
	}
}

func TestBuildFailureCarriesLog(t *testing.T) {
	o := testOps(t)
	_, err := o.Context().Build("__kernel void broken(__global float* x) { x[0] = undefined_name; }", "")
	if !errors.Is(err, ErrBuildProgramFailure) {
		t.Fatalf("bad source: %v, want CL_BUILD_PROGRAM_FAILURE", err)
	}
	if !strings.Contains(err.Error(), "undefined_name") {
		t.Fatalf("error has no build log naming the fault:\n%v", err)
	}
}

func TestBadArgumentsRefused(t *testing.T) {
	o := testOps(t)
	a, b := zeros(t, o, 8), zeros(t, o, 9)
	if err := o.Add(a, b, a); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("length mismatch: %v", err)
	}
	if err := o.Add(a, nil, a); !errors.Is(err, ErrInvalidMemObject) {
		t.Fatalf("nil buffer: %v", err)
	}
	if _, err := o.Context().NewBuffer(0); !errors.Is(err, ErrInvalidBufferSize) {
		t.Fatalf("empty buffer: %v", err)
	}
	if err := o.SGEMM(false, false, 2, 4, 2, 1, a, a, 0, a); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("sgemm shape mismatch: %v", err)
	}
	if err := o.kernels["add_f32"].Launch([]int{8}, nil, int32(8), "x", a, a); !errors.Is(err, ErrInvalidArgValue) {
		t.Fatalf("string argument: %v", err)
	}
}
