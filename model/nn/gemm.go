package nn

// Float is the set of element types the kernels support.
type Float interface {
	~float32 | ~float64
}

// gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where
// op(A) is m x k, op(B) is k x n and C is m x n. transA and transB select the
// transposes; lda, ldb and ldc are the row strides of the stored matrices.
// It dispatches to OpenBLAS when built with the openblas tag and to the
// pure-Go kernel otherwise. It runs on the calling goroutine only: callers
// parallelise around it.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch av := any(a).(type) {
	case []float32:
		sgemm(transA, transB, m, n, k, float32(alpha), av, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		dgemm(transA, transB, m, n, k, float64(alpha), av, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	default:
		gemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// gemmGo is the portable GEMM used without OpenBLAS and as the reference in
// tests. It scales C by beta, then accumulates alpha*op(A)*op(B) with loop
// orders that keep the innermost loop on contiguous memory.
func gemmGo[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	switch {
	case !transA && !transB:
		gemmNN(m, n, k, alpha, a, lda, b, ldb, c, ldc)
	case !transA && transB:
		gemmNT(m, n, k, alpha, a, lda, b, ldb, c, ldc)
	case transA && !transB:
		gemmTN(m, n, k, alpha, a, lda, b, ldb, c, ldc)
	default:
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s T
				for p := 0; p < k; p++ {
					s += a[p*lda+i] * b[j*ldb+p]
				}
				c[i*ldc+j] += alpha * s
			}
		}
	}
}

// gemmNN accumulates alpha*A*B into C, four rows of A at a time so that each
// loaded row of B feeds four rows of C.
func gemmNN[T Float](m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	i := 0
	for ; i+4 <= m; i += 4 {
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c2 := c[(i+2)*ldc : (i+2)*ldc+n]
		c3 := c[(i+3)*ldc : (i+3)*ldc+n]
		for p := 0; p < k; p++ {
			a0 := alpha * a[i*lda+p]
			a1 := alpha * a[(i+1)*lda+p]
			a2 := alpha * a[(i+2)*lda+p]
			a3 := alpha * a[(i+3)*lda+p]
			br := b[p*ldb : p*ldb+n]
			for j, bv := range br {
				c0[j] += a0 * bv
				c1[j] += a1 * bv
				c2[j] += a2 * bv
				c3[j] += a3 * bv
			}
		}
	}
	for ; i < m; i++ {
		cr := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			av := alpha * a[i*lda+p]
			if av == 0 {
				continue
			}
			br := b[p*ldb : p*ldb+n]
			for j, bv := range br {
				cr[j] += av * bv
			}
		}
	}
}

// gemmNT accumulates alpha*A*B^T into C as dot products of contiguous rows.
func gemmNT[T Float](m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	for i := 0; i < m; i++ {
		ar := a[i*lda : i*lda+k]
		for j := 0; j < n; j++ {
			br := b[j*ldb : j*ldb+k]
			var s0, s1, s2, s3 T
			p := 0
			for ; p+4 <= k; p += 4 {
				s0 += ar[p] * br[p]
				s1 += ar[p+1] * br[p+1]
				s2 += ar[p+2] * br[p+2]
				s3 += ar[p+3] * br[p+3]
			}
			for ; p < k; p++ {
				s0 += ar[p] * br[p]
			}
			c[i*ldc+j] += alpha * (s0 + s1 + s2 + s3)
		}
	}
}

// gemmTN accumulates alpha*A^T*B into C, walking the shared dimension
// outermost so that rows of A and B are both read contiguously.
func gemmTN[T Float](m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	for p := 0; p < k; p++ {
		ar := a[p*lda : p*lda+m]
		br := b[p*ldb : p*ldb+n]
		for i, av := range ar {
			av *= alpha
			if av == 0 {
				continue
			}
			cr := c[i*ldc : i*ldc+n]
			for j, bv := range br {
				cr[j] += av * bv
			}
		}
	}
}
