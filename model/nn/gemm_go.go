//go:build !openblas

package nn

// blasName names the GEMM implementation compiled in.
const blasName = "go"

// setBLASThreads is a no-op without OpenBLAS: the pure-Go GEMM runs on the
// calling goroutine.
func setBLASThreads(int) {}

// sgemm is the float32 GEMM; without OpenBLAS it is the portable kernel.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// dgemm is the float64 GEMM; without OpenBLAS it is the portable kernel.
func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
