package device

import (
	"errors"
	"strings"
	"testing"
)

func TestFits(t *testing.T) {
	j := Job{Model: "ddpm", Batch: 64, Params: 1 << 20, ActivationsPerImage: 1 << 20}
	// 4*(5 Mi + 3*64 Mi) = 788 MiB.
	if got := j.Bytes(); got != 788<<20 {
		t.Fatalf("estimate %d, want %d", got, 788<<20)
	}
	if err := CPU(0).Fits(j); err != nil {
		t.Fatalf("no cap: %v", err)
	}
	if err := CPU(788 << 20).Fits(j); err != nil {
		t.Fatalf("exact fit: %v", err)
	}
	err := CPU(512 << 20).Fits(j)
	var fe *FitError
	if !errors.Is(err, ErrDoesNotFit) || !errors.As(err, &fe) {
		t.Fatalf("over the cap: %v", err)
	}
	// (512 Mi/4 - 5 Mi) / 3 Mi = 41 images.
	if fe.MaxBatch != 41 || fe.Need != 788<<20 {
		t.Fatalf("max batch %d need %d", fe.MaxBatch, fe.Need)
	}
	for _, want := range []string{"model ddpm", "batch size 64", "788 MiB", "512 MiB", "batch size 41 or less"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	// Sampling: 4*(1 Mi + 2*64 Mi) = 516 MiB; (512 Mi/4 - 1 Mi)/2 Mi = 63.
	j.Sampling = true
	if got := j.Bytes(); got != 516<<20 {
		t.Fatalf("sampling estimate %d, want %d", got, 516<<20)
	}
	err = CPU(512 << 20).Fits(j)
	if !errors.As(err, &fe) || fe.MaxBatch != 63 || !strings.Contains(err.Error(), "model ddpm sampling at batch size 64") {
		t.Fatalf("sampling over the cap: %v", err)
	}
	// Guidance: 2 passes of 32 images = the 64-image estimate above.
	j.Batch, j.Passes = 32, 2
	err = CPU(512 << 20).Fits(j)
	if !errors.As(err, &fe) || fe.Need != 516<<20 || fe.MaxBatch != 31 || !strings.Contains(err.Error(), "batch size 32 (2 passes per image)") {
		t.Fatalf("guided sampling over the cap: %v", err)
	}
	j.Sampling, j.Batch, j.Passes = false, 64, 0
	err = CPU(16 << 20).Fits(j)
	if !errors.As(err, &fe) || fe.MaxBatch != 0 || !strings.Contains(err.Error(), "parameters alone") {
		t.Fatalf("params over the cap: %v", err)
	}
}
