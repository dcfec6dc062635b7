// The optimiser's helpers beside AdamW: the EMA of the weights and the
// global-norm gradient clipping, kept on the device so a step never reads
// the gradients back.

#define SQ 256

// ema_f32: ema = d*ema + (1-d)*w, as model/optim.EMA.Update (omd = 1-d
// computed on the host in float64).
__kernel void ema_f32(const int n, const float d, const float omd, __global const float* w, __global float* ema) {
	const int i = get_global_id(0);
	if (i < n) ema[i] = d * ema[i] + omd * w[i];
}

// sumsq_acc_f32: out[at] += sum(x^2), one work-group. Launched once per
// gradient tensor on the in-order queue, it accumulates the global squared
// norm in a fixed order.
__kernel __attribute__((reqd_work_group_size(SQ, 1, 1)))
void sumsq_acc_f32(const int n, __global const float* x, __global float* out, const int at) {
	__local float red[SQ];
	const int lid = get_local_id(0);
	float s = 0.0f;
	for (int i = lid; i < n; i += SQ) s += x[i] * x[i];
	red[lid] = s;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = SQ / 2; k > 0; k >>= 1) {
		if (lid < k) red[lid] += red[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (lid == 0) out[at] += red[0];
}

// clip_scale_f32: out[at+1] = the clipping factor for a squared norm at
// out[at]: max/norm when the norm exceeds max, else 1.
__kernel void clip_scale_f32(const float maxNorm, __global float* out, const int at) {
	if (get_global_id(0) != 0) return;
	const float norm = sqrt(out[at]);
	out[at + 1] = (maxNorm > 0.0f && norm > maxNorm) ? maxNorm / norm : 1.0f;
}

// scale_by_f32: x *= s[at].
__kernel void scale_by_f32(const int n, __global const float* s, const int at, __global float* x) {
	const int i = get_global_id(0);
	if (i < n) x[i] *= s[at];
}

// fill_f32: x[off : off+n] = v.
__kernel void fill_f32(const int n, const float v, __global float* x, const int off) {
	const int i = get_global_id(0);
	if (i < n) x[off + i] = v;
}

// prox_f32: g += mu*mask*(p - anchor), FedProx's proximal gradient where
// mask is 1, as model/optim.AddProximal: the difference first, so weights
// near their anchor lose nothing to cancellation (mu*p - mu*anchor would).
__kernel void prox_f32(const int n, const float mu, __global const float* p, __global const float* anchor,
                       __global const float* mask, __global float* g) {
	const int i = get_global_id(0);
	if (i < n) g[i] += mu * mask[i] * (p[i] - anchor[i]);
}

// copy_f32: y = x.
__kernel void copy_f32(const int n, __global const float* x, __global float* y) {
	const int i = get_global_id(0);
	if (i < n) y[i] = x[i];
}

// sumsq_part_f32: part[group] = the sum of x^2 over the values
// group*SQ + lid + k*groups*SQ: the first stage of a sum of squares over a
// long buffer, spread over the device (sum_acc_f32 adds the parts in
// order, so the result does not depend on scheduling).
__kernel __attribute__((reqd_work_group_size(SQ, 1, 1)))
void sumsq_part_f32(const int n, __global const float* x, __global float* part) {
	__local float red[SQ];
	const int lid = get_local_id(0);
	const int stride = get_num_groups(0) * SQ;
	float s = 0.0f;
	for (int i = get_global_id(0); i < n; i += stride) s += x[i] * x[i];
	red[lid] = s;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = SQ / 2; k > 0; k >>= 1) {
		if (lid < k) red[lid] += red[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (lid == 0) part[get_group_id(0)] = red[0];
}

// sum_acc_f32: out[at] += sum(x), one work-group.
__kernel __attribute__((reqd_work_group_size(SQ, 1, 1)))
void sum_acc_f32(const int n, __global const float* x, __global float* out, const int at) {
	__local float red[SQ];
	const int lid = get_local_id(0);
	float s = 0.0f;
	for (int i = lid; i < n; i += SQ) s += x[i];
	red[lid] = s;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = SQ / 2; k > 0; k >>= 1) {
		if (lid < k) red[lid] += red[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (lid == 0) out[at] += red[0];
}
