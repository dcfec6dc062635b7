// sgemm_f32: C = alpha*op(A)*op(B) + beta*C on packed row-major matrices;
// op(A) is M x K (stored K x M when transA), op(B) is K x N (stored N x K
// when transB), C is M x N. With beta == 0, C is not read (it may hold
// NaN), as in BLAS.
//
// Batched: work-group dimension 2 is the batch item z, split as
// (z / inner, z % inner) (batch item, head); each operand X starts at
// xOff + (z/inner)*xOuter + (z%inner)*xInner. A stride of 0 shares one
// matrix across the batch (a conv's filters).
//
// Tiled: a TS x TS work-group stages a TS x TS tile of op(A) and of op(B)
// in local memory per step along K, so each global value is read once per
// tile instead of once per product. Fixed-size local arrays, not __local
// pointer arguments, so the same source also compiles to PTX. The loop's
// trip count is the same in every work-item, so every barrier is reached
// by the whole group (pocl's default work-group method handles it).
#define TS 16

__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void sgemm_f32(const int M, const int N, const int K, const int transA, const int transB,
               const float alpha, __global const float* A, const int aOff, const int aOuter, const int aInner,
               __global const float* B, const int bOff, const int bOuter, const int bInner,
               const float beta, __global float* C, const int cOff, const int cOuter, const int cInner,
               const int inner) {
	const int z = get_global_id(2);
	const int zo = z / inner, zi = z % inner;
	A += aOff + zo * aOuter + zi * aInner;
	B += bOff + zo * bOuter + zi * bInner;
	C += cOff + zo * cOuter + zi * cInner;
	const int col = get_global_id(0);
	const int row = get_global_id(1);
	const int lc = get_local_id(0);
	const int lr = get_local_id(1);
	__local float As[TS][TS + 1];
	__local float Bs[TS][TS + 1];
	float acc = 0.0f;
	for (int t = 0; t < K; t += TS) {
		const int ka = t + lc;
		float av = 0.0f;
		if (row < M && ka < K) av = transA ? A[ka * M + row] : A[row * K + ka];
		As[lr][lc] = av;
		const int kb = t + lr;
		float bv = 0.0f;
		if (kb < K && col < N) bv = transB ? B[col * K + kb] : B[kb * N + col];
		Bs[lr][lc] = bv;
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int k = 0; k < TS; k++) acc += As[lr][k] * Bs[k][lc];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (row < M && col < N) {
		float c = alpha * acc;
		if (beta != 0.0f) c += beta * C[row * N + col];
		C[row * N + col] = c;
	}
}
