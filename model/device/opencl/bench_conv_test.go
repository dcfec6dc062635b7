package opencl

import (
	"fmt"
	"os"
	"testing"

	"github.com/synthfed/synthfed/model/nn"
)

// BenchmarkConv2D times a 3x3, pad-1 convolution's forward pass and both
// gradients on the device (operands resident, timed to clFinish) and
// reports GFLOP/s (2*N*O*OH*OW*C*9 per pass), the figure the issue's
// 25%-of-peak goal is about. The shapes are a 32-px U-Net level; with
// $SYNTHFED_BENCH_LARGE=1 (the device check on a GPU) also the 64-px,
// 128-channel level at batch 64. The cpu-* cases run model/nn's CPU
// kernels (im2col + OpenBLAS, or the taps path) on the same shapes.
func BenchmarkConv2D(b *testing.B) {
	shapes := [][4]int{{16, 64, 32, 64}} // N, C, side, O
	if os.Getenv("SYNTHFED_BENCH_LARGE") == "1" {
		shapes = append(shapes, [4]int{64, 128, 64, 128})
	}
	for _, s := range shapes {
		p := ConvShape{N: s[0], C: s[1], H: s[2], W: s[2], O: s[3], KH: 3, KW: 3, Stride: 1, Pad: 1, OH: s[2], OW: s[2]}
		flop := 2 * float64(p.N*p.O*p.OH*p.OW) * float64(p.C*9)
		for _, pass := range []string{"forward", "grad-x", "grad-w"} {
			b.Run(fmt.Sprintf("%s/n=%d,c=%d,%dpx,o=%d", pass, s[0], s[1], s[2], s[3]), func(b *testing.B) {
				o := testOps(b)
				x, w := upload(b, o, randn(1, p.N*p.C*p.H*p.W, 1)), upload(b, o, randn(2, p.O*p.C*9, 0.1))
				y, bias := zeros(b, o, p.N*p.O*p.OH*p.OW), zeros(b, o, p.O)
				run := func() error {
					switch pass {
					case "forward":
						return o.Conv2D(p, x, w, bias, y)
					case "grad-x":
						return o.Conv2DGradX(p, w, y, x)
					}
					return o.Conv2DGradW(p, x, y, w)
				}
				if err := run(); err != nil { // warm-up: compile, scratch
					b.Fatal(err)
				}
				if err := o.Context().Finish(); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if err := run(); err != nil {
						b.Fatal(err)
					}
					if err := o.Context().Finish(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			b.Run(fmt.Sprintf("cpu-%s/n=%d,c=%d,%dpx,o=%d", pass, s[0], s[1], s[2], s[3]), func(b *testing.B) {
				np := nn.ConvParams{N: p.N, C: p.C, H: p.H, W: p.W, O: p.O, KH: 3, KW: 3, Stride: 1, Pad: 1, OH: p.OH, OW: p.OW}
				x, w := dense(randn(1, p.N*p.C*p.H*p.W, 1)), dense(randn(2, p.O*p.C*9, 0.1))
				y, bias := dense(make([]float32, p.N*p.O*p.OH*p.OW)), dense(make([]float32, p.O))
				k := nn.CPU()
				for b.Loop() {
					switch pass {
					case "forward":
						k.Conv2D(np, x, w, bias, y)
					case "grad-x":
						k.Conv2DGradX(np, w, y, x)
					default:
						k.Conv2DGradW(np, x, y, w)
					}
				}
				b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
