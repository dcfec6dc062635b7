package opencl

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model/nn"
)

// BenchmarkSGEMM times C = A*B on square matrices on the OpenCL device
// with each GEMM kernel (16 x 16 tiles; 64 x 64 register tiles)
// (operands resident on the device, timed to clFinish) and with model/nn's
// CPU GEMM on one goroutine (OpenBLAS with the openblas tag, pure Go
// otherwise), reporting GFLOP/s. On pocl both run on the same CPU cores.
func BenchmarkSGEMM(b *testing.B) {
	for _, n := range benchSizes() {
		flop := 2 * float64(n) * float64(n) * float64(n)
		a, bm := randn(1, n*n, 1), randn(2, n*n, 1)
		for _, kern := range []string{GEMMTiled16, GEMMRegister64} {
			b.Run(fmt.Sprintf("device-%s/n=%d", kern, n), func(b *testing.B) {
				o := testOps(b)
				da, db, dc := upload(b, o, a), upload(b, o, bm), zeros(b, o, n*n)
				run := func() error {
					return o.SGEMMWith(kern, 1, 1, false, false, n, n, n, 1, Whole(da), Whole(db), 0, Whole(dc))
				}
				if err := run(); err != nil { // warm-up (pocl compiles on first launch)
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
		}
		b.Run(fmt.Sprintf("cpu/n=%d", n), func(b *testing.B) {
			c := make([]float32, n*n)
			for b.Loop() {
				nn.SGEMM(false, false, n, n, n, 1, a, n, bm, n, 0, c, n)
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// benchSizes are BenchmarkSGEMM's matrix sides: 128 and 512, or the
// comma-separated list in $SYNTHFED_SGEMM_SIZES (larger on a GPU).
func benchSizes() []int {
	v := os.Getenv("SYNTHFED_SGEMM_SIZES")
	if v == "" {
		return []int{128, 512}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
