// adamw_f32: one fused AdamW step over n parameters, the update of
// model/optim.Adam.Step in float32: the gradient is scaled (clipping), the
// moments updated in place, the weight decayed (decay = 1 - lr*wd) and
// moved by lr * mhat / (sqrt(vhat) + eps), where mhat = m/c1 and
// vhat = v/c2 are the bias-corrected moments. omb1 and omb2 are 1-b1 and
// 1-b2 computed on the host in float64: 1 - 0.999f in float32 is off by
// 1.3e-5 relative (cancellation), which the test against optim caught.
__kernel void adamw_f32(const int n, __global float* p, __global const float* g, __global float* m, __global float* v,
                        const float lr, const float b1, const float b2, const float omb1, const float omb2,
                        const float c1, const float c2,
                        const float eps, const float decay, const float scale) {
	const int i = get_global_id(0);
	if (i >= n) return;
	const float gi = g[i] * scale;
	const float mi = b1 * m[i] + omb1 * gi;
	const float vi = b2 * v[i] + omb2 * gi * gi;
	m[i] = mi;
	v[i] = vi;
	p[i] = p[i] * decay - lr * (mi / c1) / (sqrt(vi / c2) + eps);
}
