package opencl

import (
	"math"
	"testing"

	"github.com/synthfed/synthfed/model/nn"
)

// refGEMM is C = alpha*op(A)*op(B) + beta*C in float64, with the sum of
// absolute products per element (for the error bound).
func refGEMM(transA, transB bool, m, n, k int, alpha float64, a, b []float32, beta float64, c []float32) (out, abs []float64) {
	out, abs = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				av := a[i*k+p]
				if transA {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if transB {
					bv = b[j*k+p]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			out[i*n+j] = alpha * s
			abs[i*n+j] = math.Abs(alpha)*sa + math.Abs(beta*float64(c[i*n+j]))
			if beta != 0 {
				out[i*n+j] += beta * float64(c[i*n+j])
			}
		}
	}
	return out, abs
}

// TestSGEMMMatchesGo runs every transpose combination on shapes that are
// and are not multiples of the 16 x 16 tile. A float32 dot product of
// length k has a rounding error of at most about k*2^-24 of the sum of
// absolute products; the bound is 2*(k+2)*2^-24 of it (plus 1e-30).
func TestSGEMMMatchesGo(t *testing.T) {
	o := testOps(t)
	for _, kern := range []string{GEMMTiled16, GEMMRegister64} {
		t.Run(kern, func(t *testing.T) { testSGEMM(t, o, kern) })
	}
}

// testSGEMM runs TestSGEMMMatchesGo's cases with one kernel.
func testSGEMM(t *testing.T, o *Ops, kern string) {
	shapes := [][3]int{{1, 1, 1}, {16, 16, 16}, {37, 29, 53}, {64, 3, 130}, {5, 70, 17}, {64, 64, 64}, {130, 67, 33}}
	for si, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			a, b, c := randn(uint64(10+si), m*k, 1), randn(uint64(20+si), k*n, 1), randn(uint64(30+si), m*n, 1)
			for _, ab := range [][2]float32{{1, 0}, {0.5, -2}} {
				alpha, beta := ab[0], ab[1]
				dc := upload(t, o, c)
				if beta == 0 { // C must not be read: fill it with NaN
					nan := make([]float32, m*n)
					for i := range nan {
						nan[i] = float32(math.NaN())
					}
					if err := dc.Write(nan); err != nil {
						t.Fatal(err)
					}
				}
				if err := o.SGEMMWith(kern, 1, 1, tr[0], tr[1], m, n, k, alpha, Whole(upload(t, o, a)), Whole(upload(t, o, b)), beta, Whole(dc)); err != nil {
					t.Fatal(err)
				}
				got := read(t, dc)
				want, abs := refGEMM(tr[0], tr[1], m, n, k, float64(alpha), a, b, float64(beta), c)
				for i := range got {
					bound := 2*float64(k+2)*0x1p-24*abs[i] + 1e-30
					if d := math.Abs(float64(got[i]) - want[i]); !(d <= bound) {
						t.Fatalf("%dx%dx%d trans %v alpha %v beta %v: C[%d] = %v, want %v (error %.3g > %.3g)",
							m, n, k, tr, alpha, beta, i, got[i], want[i], d, bound)
					}
				}
			}
		}
	}
}

// TestSGEMMMatchesCPUModel compares the device with the CPU path itself,
// model/nn's GEMM, on one transposed case.
func TestSGEMMMatchesCPUModel(t *testing.T) {
	o := testOps(t)
	m, n, k := 33, 47, 71
	a, b := randn(41, k*m, 1), randn(42, n*k, 1)
	cpu := make([]float32, m*n)
	nn.SGEMM(true, true, m, n, k, 1, a, m, b, k, 0, cpu, n)
	dc := zeros(t, o, m*n)
	if err := o.SGEMM(true, true, m, n, k, 1, upload(t, o, a), upload(t, o, b), 0, dc); err != nil {
		t.Fatal(err)
	}
	_, abs := refGEMM(true, true, m, n, k, 1, a, b, 0, cpu)
	for i, g := range read(t, dc) {
		if d := math.Abs(float64(g - cpu[i])); d > 4*float64(k+2)*0x1p-24*abs[i] {
			t.Fatalf("C[%d]: device %v, model/nn %v", i, g, cpu[i])
		}
	}
}

// TestSGEMMBatched runs a batch of 2 x 3 (item, head) products with an
// offset, per-item and per-head strides and a shared operand (stride 0),
// with both kernels, against the Go reference per item.
func TestSGEMMBatched(t *testing.T) {
	o := testOps(t)
	const outer, inner, m, n, k = 2, 3, 70, 50, 20
	const off = 5
	a := randn(90, off+outer*inner*m*k, 1) // items packed after an offset
	b := randn(91, k*n, 1)                 // shared
	for _, kern := range []string{GEMMTiled16, GEMMRegister64} {
		dc := zeros(t, o, outer*inner*m*n)
		A := Mat{Buf: upload(t, o, a), Off: off, Outer: inner * m * k, Inner: m * k}
		C := Mat{Buf: dc, Outer: inner * m * n, Inner: m * n}
		if err := o.SGEMMWith(kern, outer*inner, inner, false, false, m, n, k, 1, A, Whole(upload(t, o, b)), 0, C); err != nil {
			t.Fatal(err)
		}
		got := read(t, dc)
		for z := range outer * inner {
			item := a[off+z*m*k : off+(z+1)*m*k]
			want, abs := refGEMM(false, false, m, n, k, 1, item, b, 0, make([]float32, m*n))
			for i := range want {
				if d := math.Abs(float64(got[z*m*n+i]) - want[i]); d > 2*float64(k+2)*0x1p-24*abs[i] {
					t.Fatalf("%s item %d C[%d] = %v, want %v", kern, z, i, got[z*m*n+i], want[i])
				}
			}
		}
		if err := o.SGEMMWith(kern, outer*inner+1, inner, false, false, m, n, k, 1, A, Whole(upload(t, o, b)), 0, C); err == nil {
			t.Fatalf("%s: a batch past the buffer's end accepted", kern)
		}
	}
}
