package opencl

import "fmt"

// gemmTile is TS of kernels/gemm.cl: the work-group is gemmTile x gemmTile.
const gemmTile = 16

// GEMM kernels: the 16 x 16 tiled one and the register-tiled one (64 x 64
// tiles of C, 4 x 4 per work-item, the same 16 x 16 work-group).
const (
	GEMMTiled16    = "sgemm_f32"
	GEMMRegister64 = "sgemm_rt_f32"
)

// rtTile is RT of kernels/gemm_rt.cl: the C tile of one work-group.
const rtTile = 64

// Mat locates the matrices of a batched GEMM operand in a buffer: batch
// item z, split as (z / inner, z % inner), starts at
// Off + (z/inner)*Outer + (z%inner)*Inner. Strides of 0 share one matrix
// across the batch.
type Mat struct {
	Buf               *Buffer
	Off, Outer, Inner int
}

// Whole is a buffer holding one packed matrix.
func Whole(b *Buffer) Mat { return Mat{Buf: b} }

// span returns the last value index + 1 that a batch of size rows x cols
// matrices reads.
func (m Mat) span(batch, inner, size int) int {
	last := batch - 1
	return m.Off + (last/inner)*m.Outer + (last%inner)*m.Inner + size
}

// check verifies that every batch item lies inside the buffer and that
// offsets stay in 32-bit range.
func (m Mat) check(op, name string, batch, inner, size int) error {
	if m.Buf == nil {
		return fmt.Errorf("opencl: %s %s: nil buffer: %w", op, name, ErrInvalidMemObject)
	}
	if m.Off < 0 || m.Outer < 0 || m.Inner < 0 {
		return fmt.Errorf("opencl: %s %s: negative offset or stride %+v: %w", op, name, m, ErrInvalidValue)
	}
	if end := m.span(batch, inner, size); end > m.Buf.Len() || end >= 1<<31 {
		return fmt.Errorf("opencl: %s %s: batch of %d reads up to value %d of a buffer of %d: %w", op, name, batch, end, m.Buf.Len(), ErrInvalidValue)
	}
	return nil
}

// SGEMM computes C = alpha*op(A)*op(B) + beta*C on packed row-major
// matrices: op(A) is m x k (A stored k x m when transA), op(B) is k x n (B
// stored n x k when transB), C is m x n. It is the same contract as
// model/nn's gemm with lda, ldb and ldc equal to the stored row lengths.
// With beta 0, C's old values are not read.
func (o *Ops) SGEMM(transA, transB bool, m, n, k int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error {
	if err := sameLen("sgemm A", m*k, a); err != nil {
		return err
	}
	if err := sameLen("sgemm B", k*n, b); err != nil {
		return err
	}
	if err := sameLen("sgemm C", m*n, c); err != nil {
		return err
	}
	return o.SGEMMBatched(1, 1, transA, transB, m, n, k, alpha, Whole(a), Whole(b), beta, Whole(c))
}

// SGEMMBatched runs SGEMM on batch items at once (one launch), item z's
// operands located by the Mats with inner items per outer stride.
func (o *Ops) SGEMMBatched(batch, inner int, transA, transB bool, m, n, k int, alpha float32, a, b Mat, beta float32, c Mat) error {
	return o.SGEMMWith(o.gemmFor(m, n), batch, inner, transA, transB, m, n, k, alpha, a, b, beta, c)
}

// gemmFor picks the GEMM kernel for an m x n product: the register-tiled
// one when both sides fill most of a 64 x 64 tile, else the 16 x 16 one
// (a small product would waste most of a 64 x 64 tile).
func (o *Ops) gemmFor(m, n int) string {
	if o.GEMM != "" {
		return o.GEMM
	}
	if m >= 48 && n >= 48 {
		return GEMMRegister64
	}
	return GEMMTiled16
}

// SGEMMWith is SGEMMBatched with the kernel named (GEMMTiled16 or
// GEMMRegister64), for tests and benchmarks.
func (o *Ops) SGEMMWith(kernel string, batch, inner int, transA, transB bool, m, n, k int, alpha float32, a, b Mat, beta float32, c Mat) error {
	if m <= 0 || n <= 0 || k <= 0 || batch <= 0 || inner <= 0 {
		return fmt.Errorf("opencl: sgemm %dx%dx%d batch %d inner %d: %w", m, n, k, batch, inner, ErrInvalidValue)
	}
	if m*k >= 1<<31 || k*n >= 1<<31 || m*n >= 1<<31 {
		return fmt.Errorf("opencl: sgemm %dx%dx%d: a matrix over 2^31 values (32-bit indices): %w", m, n, k, ErrInvalidValue)
	}
	for _, x := range []struct {
		name string
		m    Mat
		size int
	}{{"A", a, m * k}, {"B", b, k * n}, {"C", c, m * n}} {
		if err := x.m.check("sgemm", x.name, batch, inner, x.size); err != nil {
			return err
		}
	}
	if wg := o.c.dev.MaxWorkGroupSize; wg < gemmTile*gemmTile {
		return fmt.Errorf("opencl: sgemm on %s: max work-group %d, the kernel needs %d: %w", o.c.dev.Name, wg, gemmTile*gemmTile, ErrInvalidWorkGroupSize)
	}
	kern, ok := o.kernels[kernel]
	if !ok || (kernel != GEMMTiled16 && kernel != GEMMRegister64) {
		return fmt.Errorf("opencl: sgemm kernel %q: %w", kernel, ErrInvalidKernelName)
	}
	tile := gemmTile
	if kernel == GEMMRegister64 {
		tile = rtTile
	}
	groups := func(x int) int { return (x + tile - 1) / tile * gemmTile }
	return kern.Launch([]int{groups(n), groups(m), batch}, []int{gemmTile, gemmTile, 1},
		int32(m), int32(n), int32(k), b2i(transA), b2i(transB), alpha,
		a.Buf, int32(a.Off), int32(a.Outer), int32(a.Inner),
		b.Buf, int32(b.Off), int32(b.Outer), int32(b.Inner),
		beta, c.Buf, int32(c.Off), int32(c.Outer), int32(c.Inner), int32(inner))
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
