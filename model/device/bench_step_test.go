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
// batch 32) three ways, reporting images/s: resident on the device
// (Trainer.UseDevice: only the batch goes in and the loss comes out),
// with every model/nn kernel on the device per op (device.Kernels: each op
// copies its tensors to the device and back), and with the CPU kernels.
// With $SYNTHFED_BENCH_LARGE=1 (the device check on a GPU) also the 64-px
// U-Net at batch 64. A timed iteration is one Train call of one step, so
// it includes the round boundary's upload and download of the weights,
// moments and EMA; BenchmarkDDPMStepResident times the steps alone.
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
		for _, where := range []string{"resident", "device", "cpu"} {
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
				if where == "resident" {
					tr.UseDevice(poclBackend(b))
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

// BenchmarkDDPMStepResident times the resident steps alone (no round
// boundary): the default U-Net (32 px, batch 32; with
// $SYNTHFED_BENCH_LARGE=1 also 64 px at batch 64) through
// ddpm.Stepper.Step on the device, reporting images/s and the device
// memory the step holds.
func BenchmarkDDPMStepResident(b *testing.B) {
	type size struct{ px, batch int }
	sizes := []size{{32, 32}}
	if os.Getenv("SYNTHFED_BENCH_LARGE") == "1" {
		sizes = append(sizes, size{64, 64})
	}
	for _, s := range sizes {
		b.Run(fmt.Sprintf("%dpx,batch=%d", s.px, s.batch), func(b *testing.B) {
			cfg := ddpm.DefaultConfig()
			cfg.Arch.ImageSize, cfg.Train.BatchSize = s.px, s.batch
			w, err := cfg.Arch.InitWeights(1)
			if err != nil {
				b.Fatal(err)
			}
			st, err := ddpm.NewStepperOn(cfg, w, 1, poclBackend(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			set := imageSet(s.batch, s.px, 1)
			if _, err := st.Step(set.Pixels, set.Cond); err != nil { // warm-up: upload, kernels
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := st.Step(set.Pixels, set.Cond); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.batch*b.N)/b.Elapsed().Seconds(), "images/s")
			if err := st.Sync(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
