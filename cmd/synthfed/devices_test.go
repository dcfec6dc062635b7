package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model/device/opencl"
)

func TestWriteDevicesSaysWhyNone(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: libOpenCL.so.1: cannot open", opencl.ErrUnavailable), "no OpenCL devices: opencl: unavailable"},
		{nil, "found no platform"},
		{errors.New("boom"), "listing failed: boom"},
	} {
		var b bytes.Buffer
		if err := writeDevices(&b, nil, c.err); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) || !strings.Contains(b.String(), "runs on the CPU") {
			t.Errorf("err %v: %q, want %q", c.err, b.String(), c.want)
		}
	}
	var b bytes.Buffer
	devs := []opencl.Device{{Index: 0, Type: "gpu", Name: "NVIDIA H100 80GB HBM3", Platform: "NVIDIA CUDA", ComputeUnits: 132, GlobalMemBytes: 80 << 30, LocalMemBytes: 48 << 10, MaxWorkGroupSize: 1024}}
	if err := writeDevices(&b, devs, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opencl:0", "NVIDIA H100 80GB HBM3", "132", "80.0 GiB", "48 KiB", "1024"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSmokeOnFirstDevice(t *testing.T) {
	devs, err := opencl.Devices()
	if err != nil || len(devs) == 0 {
		t.Skipf("no OpenCL device (scripts/deps.sh installs pocl as root): %v", err)
	}
	msg, err := smokeDevice(devs[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Log(msg)
}

// TestWriteAutoSaysWhich checks the line naming what device = "auto" would
// take here (the CPU on a machine with pocl only, or none), with its reason.
func TestWriteAutoSaysWhich(t *testing.T) {
	var b bytes.Buffer
	if err := writeAuto(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.HasPrefix(out, `device = "auto" would use: `) || !strings.Contains(out, "auto") {
		t.Fatalf("auto line %q", out)
	}
	t.Log(b.String())
}
