package opencl

import "fmt"

// gemmTile is TS of kernels/gemm.cl: the work-group is gemmTile x gemmTile.
const gemmTile = 16

// SGEMM computes C = alpha*op(A)*op(B) + beta*C on packed row-major
// matrices: op(A) is m x k (A stored k x m when transA), op(B) is k x n (B
// stored n x k when transB), C is m x n. It is the same contract as
// model/nn's gemm with lda, ldb and ldc equal to the stored row lengths.
// With beta 0, C's old values are not read.
func (o *Ops) SGEMM(transA, transB bool, m, n, k int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error {
	if m <= 0 || n <= 0 || k <= 0 {
		return fmt.Errorf("opencl: sgemm %dx%dx%d: %w", m, n, k, ErrInvalidValue)
	}
	if err := sameLen("sgemm A", m*k, a); err != nil {
		return err
	}
	if err := sameLen("sgemm B", k*n, b); err != nil {
		return err
	}
	if err := sameLen("sgemm C", m*n, c); err != nil {
		return err
	}
	if m*k >= 1<<31 || k*n >= 1<<31 || m*n >= 1<<31 {
		return fmt.Errorf("opencl: sgemm %dx%dx%d: a matrix over 2^31 values (32-bit indices): %w", m, n, k, ErrInvalidValue)
	}
	if wg := o.c.dev.MaxWorkGroupSize; wg < gemmTile*gemmTile {
		return fmt.Errorf("opencl: sgemm on %s: max work-group %d, the kernel needs %d: %w", o.c.dev.Name, wg, gemmTile*gemmTile, ErrInvalidWorkGroupSize)
	}
	up := func(x int) int { return (x + gemmTile - 1) / gemmTile * gemmTile }
	return o.kernels["sgemm_f32"].Launch([]int{up(n), up(m)}, []int{gemmTile, gemmTile},
		int32(m), int32(n), int32(k), b2i(transA), b2i(transB), alpha, a, b, beta, c)
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
