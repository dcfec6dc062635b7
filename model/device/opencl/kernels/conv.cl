// im2col and col2im for 2-D convolutions over NCHW input with OIHW filters
// (model/nn's ConvParams): col holds, per sample, a (C*KH*KW) x (OH*OW)
// matrix, so that a batched GEMM with the filters as a shared (O, C*KH*KW)
// matrix gives the output in NCHW directly.

// im2col_f32: one work-item per col value.
__kernel void im2col_f32(const int N, const int C, const int H, const int W, const int KH, const int KW,
                         const int stride, const int pad, const int OH, const int OW,
                         __global const float* x, __global float* col) {
	const int i = get_global_id(0);
	const int ohw = OH * OW, k = C * KH * KW;
	if (i >= N * k * ohw) return;
	const int n = i / (k * ohw), r = (i / ohw) % k, p = i % ohw;
	const int c = r / (KH * KW), ki = (r / KW) % KH, kj = r % KW;
	const int ih = (p / OW) * stride - pad + ki, iw = (p % OW) * stride - pad + kj;
	col[i] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[((n * C + c) * H + ih) * W + iw] : 0.0f;
}

// col2im_f32: dx (N,C,H,W) gathers every col value that im2col took from
// it (no atomics: one work-item per dx value, a fixed summation order).
__kernel void col2im_f32(const int N, const int C, const int H, const int W, const int KH, const int KW,
                         const int stride, const int pad, const int OH, const int OW,
                         __global const float* col, __global float* dx) {
	const int i = get_global_id(0);
	if (i >= N * C * H * W) return;
	const int n = i / (C * H * W), c = (i / (H * W)) % C, h = (i / W) % H, w = i % W;
	const int ohw = OH * OW, k = C * KH * KW;
	__global const float* cn = col + n * k * ohw;
	float s = 0.0f;
	for (int ki = 0; ki < KH; ki++) {
		const int th = h + pad - ki;
		if (th < 0 || th % stride != 0 || th / stride >= OH) continue;
		for (int kj = 0; kj < KW; kj++) {
			const int tw = w + pad - kj;
			if (tw < 0 || tw % stride != 0 || tw / stride >= OW) continue;
			s += cn[((c * KH + ki) * KW + kj) * ohw + (th / stride) * OW + tw / stride];
		}
	}
	dx[i] = s;
}
