// GroupNorm (model/nn's NormParams: x is (N, C, HW), C/G channels per
// group) with the SiLU fused in: stats per (sample, group) by a work-group
// reduction, then one pass that normalises, scales, shifts and applies the
// SiLU; the backward recomputes the pre-activation in the same pass.

#define NG 256

// group_sum: the work-group's sum of v, returned to every work-item. The
// trailing barrier lets the caller reuse red at once.
inline float group_sum(__local float* red, float v) {
	const int lid = get_local_id(0);
	red[lid] = v;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = NG / 2; k > 0; k >>= 1) {
		if (lid < k) red[lid] += red[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	const float s = red[0];
	barrier(CLK_LOCAL_MEM_FENCE);
	return s;
}

// groupnorm_stats_f32: one work-group per (sample, group) writes the mean
// and 1/sqrt(var + eps) at stats[2*(n*G+g)], two passes as model/nn.
__kernel __attribute__((reqd_work_group_size(NG, 1, 1)))
void groupnorm_stats_f32(const int C, const int HW, const int G, const float eps,
                         __global const float* x, __global float* stats) {
	__local float red[NG];
	const int ng = get_group_id(0), n = ng / G, g = ng % G;
	const int cg = C / G, gsize = cg * HW;
	__global const float* xs = x + (n * C + g * cg) * HW;
	float s = 0.0f;
	for (int i = get_local_id(0); i < gsize; i += NG) s += xs[i];
	const float mean = group_sum(red, s) / (float)gsize;
	float ss = 0.0f;
	for (int i = get_local_id(0); i < gsize; i += NG) {
		const float d = xs[i] - mean;
		ss += d * d;
	}
	const float var = group_sum(red, ss) / (float)gsize;
	if (get_local_id(0) == 0) {
		stats[2 * ng] = mean;
		stats[2 * ng + 1] = 1.0f / sqrt(var + eps);
	}
}

// groupnorm_apply_f32: y = [SiLU](gamma*(x-mean)*rstd + beta).
__kernel void groupnorm_apply_f32(const int N, const int C, const int HW, const int G, const int silu,
                                  __global const float* x, __global const float* gamma, __global const float* beta,
                                  __global const float* stats, __global float* y) {
	const int i = get_global_id(0);
	if (i >= N * C * HW) return;
	const int nc = i / HW, ch = nc % C, ng = (nc / C) * G + ch / (C / G);
	const float a = stats[2 * ng + 1] * gamma[ch];
	const float z = x[i] * a + (beta[ch] - stats[2 * ng] * a);
	y[i] = silu ? z / (1.0f + exp(-z)) : z;
}

// groupnorm_grad_f32: one work-group per (sample, group). Per channel it
// stores dL/dxhat in dx and the channel's dgamma and dbeta in
// acc[n*2C + ch] and acc[n*2C + C + ch]; then it turns dx into dL/dx with
// the group sums. Both passes map values to work-items alike, and a global
// fence orders them.
__kernel __attribute__((reqd_work_group_size(NG, 1, 1)))
void groupnorm_grad_f32(const int C, const int HW, const int G, const int silu,
                        __global const float* x, __global const float* gamma, __global const float* beta,
                        __global const float* stats, __global const float* dy, __global float* dx, __global float* acc) {
	__local float red[NG];
	const int ng = get_group_id(0), n = ng / G, g = ng % G;
	const int cg = C / G, gsize = cg * HW, lid = get_local_id(0);
	const float m = stats[2 * ng], r = stats[2 * ng + 1];
	const int base = (n * C + g * cg) * HW;
	float s1 = 0.0f, s2 = 0.0f;
	for (int c = 0; c < cg; c++) {
		const int ch = g * cg + c, off = base + c * HW;
		const float gam = gamma[ch], bet = beta[ch];
		float dg = 0.0f, db = 0.0f, c1 = 0.0f, c2 = 0.0f;
		for (int i = lid; i < HW; i += NG) {
			const float xh = (x[off + i] - m) * r;
			float d = dy[off + i];
			if (silu) {
				const float z = xh * gam + bet;
				const float s = 1.0f / (1.0f + exp(-z));
				d *= s * (1.0f + z * (1.0f - s));
			}
			dg += d * xh;
			db += d;
			const float dxh = d * gam;
			dx[off + i] = dxh;
			c1 += dxh;
			c2 += dxh * xh;
		}
		dg = group_sum(red, dg);
		db = group_sum(red, db);
		s1 += group_sum(red, c1);
		s2 += group_sum(red, c2);
		if (lid == 0) {
			acc[n * 2 * C + ch] = dg;
			acc[n * 2 * C + C + ch] = db;
		}
	}
	barrier(CLK_GLOBAL_MEM_FENCE);
	const float m1 = s1 / (float)gsize, m2 = s2 / (float)gsize;
	for (int c = 0; c < cg; c++) {
		const int off = base + c * HW;
		for (int i = lid; i < HW; i += NG) {
			const float xh = (x[off + i] - m) * r;
			dx[off + i] = r * (dx[off + i] - m1 - xh * m2);
		}
	}
}

// groupnorm_param_grad_f32: dgamma and dbeta sum the per-sample rows of
// acc in sample order.
__kernel void groupnorm_param_grad_f32(const int N, const int C, __global const float* acc,
                                       __global float* dgamma, __global float* dbeta) {
	const int ch = get_global_id(0);
	if (ch >= C) return;
	float sg = 0.0f, sb = 0.0f;
	for (int n = 0; n < N; n++) {
		sg += acc[n * 2 * C + ch];
		sb += acc[n * 2 * C + C + ch];
	}
	dgamma[ch] = sg;
	dbeta[ch] = sb;
}
