package nn

// SGEMM is model/nn's CPU GEMM for float32 (OpenBLAS with the openblas
// tag, the pure-Go kernel otherwise): C = alpha*op(A)*op(B) + beta*C on
// row-major matrices with row strides lda, ldb and ldc. It is exported for
// the device backends' tests and benchmarks, which compare against it. It
// runs on the calling goroutine.
func SGEMM(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
