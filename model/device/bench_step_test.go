package device

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/nn"
)

// BenchmarkDDPMStep times one training step of the default U-Net (32 px,
// batch 32) with every model/nn kernel on the device (device.Kernels: each
// op copies its tensors to the device and back) and with the CPU kernels,
// reporting images/s. With $SYNTHFED_BENCH_LARGE=1 (the device check on a
// GPU) also the 64-px U-Net at batch 64. It measures what per-op offload
// gives before device-resident steps exist.
func BenchmarkDDPMStep(b *testing.B) {
	type size struct{ px, batch int }
	sizes := []size{{32, 32}}
	if os.Getenv("SYNTHFED_BENCH_LARGE") == "1" {
		sizes = append(sizes, size{64, 64})
	}
	for _, s := range sizes {
		cfg := ddpm.DefaultConfig()
		cfg.Arch.ImageSize = s.px
		cfg.Train.BatchSize = s.batch
		train := imageSet(4*s.batch, s.px, 1)
		for _, where := range []string{"device", "cpu"} {
			b.Run(fmt.Sprintf("%s/%dpx,batch=%d", where, s.px, s.batch), func(b *testing.B) {
				var k nn.Kernels = nn.CPU()
				if where == "device" {
					k = testKernels(b)
				}
				nn.UseKernels(k)
				defer nn.UseKernels(nn.CPU())
				tr, err := ddpm.NewTrainer(cfg, train, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				w, err := tr.Init(ctx, 1)
				if err != nil {
					b.Fatal(err)
				}
				spec := model.TrainSpec{LocalSteps: 1, Seed: 1}
				if _, err := tr.Train(ctx, w, spec); err != nil { // warm-up: graph, kernels
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := tr.Train(ctx, w, spec); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(s.batch*b.N)/b.Elapsed().Seconds(), "images/s")
				if dk, ok := k.(*Kernels); ok && dk.Err() != nil {
					b.Fatalf("fell back to the CPU: %v", dk.Err())
				}
			})
		}
	}
}
