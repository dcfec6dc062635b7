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
	err = CPU(16 << 20).Fits(j)
	if !errors.As(err, &fe) || fe.MaxBatch != 0 || !strings.Contains(err.Error(), "parameters alone") {
		t.Fatalf("params over the cap: %v", err)
	}
}
