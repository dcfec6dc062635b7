// sgemm_rt_f32: the same contract and batching as sgemm_f32, register
// tiled: a 16 x 16 work-group computes a 64 x 64 tile of C, each work-item
// a 4 x 4 block held in registers, so each value staged in local memory
// feeds 4 multiply-adds instead of 1. The K loop steps 16 at a time; its
// trip count is uniform, so every barrier is reached by the whole group.
// A work-item's rows and columns are strided by 16 (ty + 16i, tx + 16j),
// so the local reads of a row of work-items hit distinct banks.
#define RT 64
#define RTK 16
#define RW 16
#define WPT 4

__kernel __attribute__((reqd_work_group_size(RW, RW, 1)))
void sgemm_rt_f32(const int M, const int N, const int K, const int transA, const int transB,
                  const float alpha, __global const float* A, const int aOff, const int aOuter, const int aInner,
                  __global const float* B, const int bOff, const int bOuter, const int bInner,
                  const float beta, __global float* C, const int cOff, const int cOuter, const int cInner,
                  const int inner) {
	const int z = get_global_id(2);
	const int zo = z / inner, zi = z % inner;
	A += aOff + zo * aOuter + zi * aInner;
	B += bOff + zo * bOuter + zi * bInner;
	C += cOff + zo * cOuter + zi * cInner;
	const int tx = get_local_id(0), ty = get_local_id(1);
	const int tid = ty * RW + tx;
	const int col0 = get_group_id(0) * RT, row0 = get_group_id(1) * RT;
	__local float As[RTK][RT + 1];
	__local float Bs[RTK][RT + 1];
	float acc[WPT][WPT];
	for (int i = 0; i < WPT; i++)
		for (int j = 0; j < WPT; j++) acc[i][j] = 0.0f;
	for (int t = 0; t < K; t += RTK) {
		for (int l = 0; l < RT * RTK / (RW * RW); l++) {
			const int idx = tid + l * RW * RW;
			const int r = idx / RTK, ka = idx % RTK;
			const int gr = row0 + r, gk = t + ka;
			As[ka][r] = (gr < M && gk < K) ? (transA ? A[gk * M + gr] : A[gr * K + gk]) : 0.0f;
			const int kb = idx / RT, c = idx % RT;
			const int gc = col0 + c, gkb = t + kb;
			Bs[kb][c] = (gkb < K && gc < N) ? (transB ? B[gc * K + gkb] : B[gkb * N + gc]) : 0.0f;
		}
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int k = 0; k < RTK; k++) {
			float a[WPT], b[WPT];
			for (int i = 0; i < WPT; i++) a[i] = As[k][ty + i * RW];
			for (int j = 0; j < WPT; j++) b[j] = Bs[k][tx + j * RW];
			for (int i = 0; i < WPT; i++)
				for (int j = 0; j < WPT; j++) acc[i][j] += a[i] * b[j];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	for (int i = 0; i < WPT; i++) {
		const int row = row0 + ty + i * RW;
		if (row >= M) continue;
		for (int j = 0; j < WPT; j++) {
			const int col = col0 + tx + j * RW;
			if (col >= N) continue;
			float c = alpha * acc[i][j];
			if (beta != 0.0f) c += beta * C[row * N + col];
			C[row * N + col] = c;
		}
	}
}
