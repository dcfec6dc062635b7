package device

import (
	"context"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/logreg"
)

var (
	pbOnce sync.Once
	pb     *Backend
	pbErr  error
)

// poclBackend opens the first OpenCL device by number (pocl in CI), or the
// one $SYNTHFED_TEST_DEVICE names, once for the package's tests, or skips
// with the reason there is none.
func poclBackend(t testing.TB) *Backend {
	t.Helper()
	pbOnce.Do(func() {
		devs, err := opencl.Devices()
		if err != nil || len(devs) == 0 {
			pbErr = err
			if pbErr == nil {
				pbErr = ErrNoDevice
			}
			return
		}
		dev := "opencl:0"
		if v := os.Getenv("SYNTHFED_TEST_DEVICE"); v != "" {
			dev = v // scripts/device-check.sh on a GPU machine
		}
		pb, pbErr = Select(Config{Device: dev}, nil)
	})
	if pb == nil {
		t.Skipf("no OpenCL device (scripts/deps.sh installs pocl as root): %v", pbErr)
	}
	return pb
}

// TestLogregOnDeviceMatchesCPU trains logistic regression on the device and
// with the CPU trainer from the same weights and batches (with and without
// the norm layer and FedProx) and compares the weights after k steps. The
// CPU trains in float64, the device in float32: weights agree to 2e-5 of
// their size plus 2e-5, and the mean loss to 1e-5 relative.
func TestLogregOnDeviceMatchesCPU(t *testing.T) {
	b := poclBackend(t)
	for _, tc := range []struct {
		name string
		norm bool
		mu   float64
	}{{"plain", false, 0}, {"norm", true, 0}, {"norm+prox", true, 0.5}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := logreg.DefaultConfig()
			cfg.Dim, cfg.Norm, cfg.Site, cfg.Steps, cfg.BatchSize = 13, tc.norm, 1, 40, 37
			cpu, err := logreg.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := NewLogregTrainer(cpu, b)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			w0, err := cpu.Init(ctx, 3)
			if err != nil {
				t.Fatal(err)
			}
			// Move off the init so the norm layer and bias are not trivial.
			spec := model.TrainSpec{Seed: 9, Round: 1, ProxMu: tc.mu}
			warm, err := cpu.Train(ctx, w0, spec)
			if err != nil {
				t.Fatal(err)
			}
			spec.Round = 2
			want, err := cpu.Train(ctx, warm.Weights, spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dev.Train(ctx, warm.Weights, spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := want.Weights.CheckSameSpec(got.Weights); err != nil {
				t.Fatal(err)
			}
			var moved float64
			for _, wt := range want.Weights.Tensors() {
				gt, _ := got.Weights.Get(wt.Name)
				before, _ := warm.Weights.Get(wt.Name)
				for i := range wt.Data {
					moved = max(moved, math.Abs(float64(wt.Data[i]-before.Data[i])))
					if d := math.Abs(float64(gt.Data[i] - wt.Data[i])); d > 2e-5*math.Abs(float64(wt.Data[i]))+2e-5 {
						t.Fatalf("%s[%d]: device %v, CPU %v (error %.3g)", wt.Name, i, gt.Data[i], wt.Data[i], d)
					}
				}
			}
			if moved < 1e-3 {
				t.Fatalf("the weights barely moved (%v): the test shows nothing", moved)
			}
			if l, w := got.Metrics["loss"], want.Metrics["loss"]; math.Abs(l-w) > 1e-5*w || got.NumSamples != want.NumSamples {
				t.Fatalf("loss %v (CPU %v), samples %d (CPU %d)", l, w, got.NumSamples, want.NumSamples)
			}
		})
	}
}

func TestLogregNeedsDevice(t *testing.T) {
	tr, err := logreg.New(logreg.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLogregTrainer(tr, CPU(0)); err == nil {
		t.Fatal("a device trainer on the CPU backend")
	}
}
