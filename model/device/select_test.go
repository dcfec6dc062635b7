package device

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model/device/opencl"
)

// fakeOpen opens any device but those named in broken, without OpenCL.
func fakeOpen(broken ...string) opener {
	return func(d opencl.Device, capBytes int64) (*Backend, error) {
		for _, b := range broken {
			if d.Name == b {
				return nil, fmt.Errorf("clBuildProgram: %w", opencl.ErrBuildProgramFailure)
			}
		}
		if capBytes <= 0 || capBytes > int64(d.GlobalMemBytes) {
			capBytes = int64(d.GlobalMemBytes)
		}
		return &Backend{kind: KindOpenCL, dev: d, cap: capBytes}, nil
	}
}

func TestSelectFrom(t *testing.T) {
	pocl := opencl.Device{Index: 0, Name: "cpu-pthread", Type: "cpu", ComputeUnits: 2, GlobalMemBytes: 4 << 30}
	gpu := opencl.Device{Index: 1, Name: "NVIDIA H100", Type: "gpu", ComputeUnits: 132, GlobalMemBytes: 80 << 30}
	gpu2 := opencl.Device{Index: 2, Name: "second", Type: "gpu", ComputeUnits: 10, GlobalMemBytes: 1 << 30}
	unavailable := fmt.Errorf("%w: libOpenCL.so.1: cannot open shared object file", opencl.ErrUnavailable)
	for _, tc := range []struct {
		name    string
		cfg     Config
		devs    []opencl.Device
		lerr    error
		broken  []string
		want    string // backend name, or "" for an error
		wantCap int64
		warns   int
	}{
		{"auto takes the gpu", Config{Device: "auto"}, []opencl.Device{pocl, gpu}, nil, nil, `opencl:1 "NVIDIA H100"`, 80 << 30, 0},
		{"auto skips a broken gpu", Config{Device: "auto"}, []opencl.Device{pocl, gpu, gpu2}, nil, []string{"NVIDIA H100"}, `opencl:2 "second"`, 1 << 30, 0},
		{"auto cap below memory", Config{Device: "auto", MemoryCapMiB: 1024}, []opencl.Device{gpu}, nil, nil, `opencl:1 "NVIDIA H100"`, 1 << 30, 0},
		{"auto cap above memory", Config{Device: "auto", MemoryCapMiB: 4096}, []opencl.Device{gpu2}, nil, nil, `opencl:2 "second"`, 1 << 30, 0},
		{"auto skips pocl", Config{Device: "auto"}, []opencl.Device{pocl}, nil, nil, "cpu", 0, 1},
		{"auto without opencl", Config{Device: "auto", MemoryCapMiB: 100}, nil, unavailable, nil, "cpu", 100 << 20, 1},
		{"auto without platform", Config{Device: "auto"}, nil, nil, nil, "cpu", 0, 1},
		{"auto all broken", Config{Device: "auto"}, []opencl.Device{gpu}, nil, []string{"NVIDIA H100"}, "cpu", 0, 1},
		{"named cpu-type device", Config{Device: "opencl:0"}, []opencl.Device{pocl, gpu}, nil, nil, `opencl:0 "cpu-pthread"`, 4 << 30, 0},
		{"named device missing", Config{Device: "opencl:2"}, []opencl.Device{pocl, gpu}, nil, nil, "", 0, 0},
		{"named device broken", Config{Device: "opencl:1"}, []opencl.Device{pocl, gpu}, nil, []string{"NVIDIA H100"}, "", 0, 0},
		{"named without opencl", Config{Device: "opencl:0"}, nil, unavailable, nil, "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			spec, err := ParseSpec(tc.cfg.Device)
			if err != nil {
				t.Fatal(err)
			}
			b, err := selectFrom(tc.cfg, spec, tc.devs, tc.lerr, fakeOpen(tc.broken...), log)
			if tc.want == "" {
				if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), tc.cfg.Device) {
					t.Fatalf("got %v, %v; want an ErrNoDevice naming %s", b, err, tc.cfg.Device)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Name() != tc.want || b.CapBytes() != tc.wantCap {
				t.Fatalf("backend %s cap %d, want %s cap %d", b.Name(), b.CapBytes(), tc.want, tc.wantCap)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != tc.warns {
				t.Fatalf("%d warnings, want %d:\n%s", n, tc.warns, logs.String())
			}
			if tc.warns > 0 && !strings.Contains(logs.String(), "training on the CPU") {
				t.Fatalf("fallback log does not say it runs on the CPU:\n%s", logs.String())
			}
			if b.Reason() == "" {
				t.Fatal("no reason recorded")
			}
		})
	}
}

// TestSelectNamedPocl opens the first real OpenCL device by number (pocl
// in CI), which builds every kernel on it.
func TestSelectNamedPocl(t *testing.T) {
	devs, err := opencl.Devices()
	if err != nil || len(devs) == 0 {
		t.Skipf("no OpenCL device (scripts/deps.sh installs pocl as root): %v", err)
	}
	b, err := Select(Config{Device: "opencl:0", MemoryCapMiB: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.OnDevice() || b.Ops() == nil || b.ComputeUnits() < 1 || b.MemoryBytes() <= 0 || b.CapBytes() != 64<<20 {
		t.Fatalf("backend %s: ops %v, %d compute units, %d bytes, cap %d", b, b.Ops(), b.ComputeUnits(), b.MemoryBytes(), b.CapBytes())
	}
	t.Log(b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSelectCPU(t *testing.T) {
	b, err := Select(Config{Device: "cpu"}, nil)
	if err != nil || b.OnDevice() || b.Name() != "cpu" || b.Close() != nil {
		t.Fatalf("cpu: %v, %v", b, err)
	}
	if _, err := Select(Config{Device: "tpu"}, nil); err == nil {
		t.Fatal("bad device accepted")
	}
}
